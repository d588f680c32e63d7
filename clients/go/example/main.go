// Command example records a consent, checks it (ALLOW), withdraws it and checks again (DENY),
// through the generated consent.v1 Go client. CONSENTD_ADDR (default 127.0.0.1:50051) and
// CONSENTD_API_KEY (an admin key: it creates its purpose first) configure it; CONSENTD_EMAIL
// names the subject (a fresh address by default).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	consentv1 "consentd/clients/go/gen/consent/v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

func env(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

func randomHex() string {
	buf := make([]byte, 8)
	if _, err := rand.Read(buf); err != nil {
		panic(err)
	}
	return hex.EncodeToString(buf)
}

// withKey carries the API key, and for a write a fresh idempotency key: a retry of the same
// call with the same key is answered once.
func withKey(ctx context.Context, apiKey string, write bool) context.Context {
	pairs := []string{"authorization", "Bearer " + apiKey}
	if write {
		pairs = append(pairs, "idempotency-key", randomHex())
	}
	return metadata.AppendToOutgoingContext(ctx, pairs...)
}

func run() error {
	apiKey := os.Getenv("CONSENTD_API_KEY")
	if apiKey == "" {
		return fmt.Errorf("CONSENTD_API_KEY is not set")
	}
	email := env("CONSENTD_EMAIL", "go-example-"+randomHex()+"@example.org")
	conn, err := grpc.Dial(env("CONSENTD_ADDR", "127.0.0.1:50051"), grpc.WithInsecure())
	if err != nil {
		return err
	}
	defer conn.Close()
	catalog := consentv1.NewCatalogServiceClient(conn)
	consent := consentv1.NewConsentServiceClient(conn)
	call := func(write bool) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		return withKey(ctx, apiKey, write), cancel
	}

	ctx, cancel := call(true)
	defer cancel()
	_, err = catalog.PutPurpose(ctx, &consentv1.PutPurposeRequest{Purpose: &consentv1.Purpose{
		PurposeId: "newsletter", DisplayName: "Newsletter", LawfulBasis: consentv1.LawfulBasis_LAWFUL_BASIS_CONSENT,
	}})
	if err != nil {
		return fmt.Errorf("PutPurpose: %w", err)
	}
	target := &consentv1.ConsentTarget{
		Purpose: "newsletter", Channel: consentv1.Channel_CHANNEL_EMAIL, Scope: consentv1.PartyScope_PARTY_SCOPE_FIRST_PARTY,
	}
	ctx, cancel = call(true)
	defer cancel()
	recorded, err := consent.RecordConsent(ctx, &consentv1.RecordConsentRequest{
		Subject: &consentv1.SubjectIdentity{Email: email},
		Choices: []*consentv1.ConsentChoice{{Target: target, State: consentv1.ConsentState_CONSENT_STATE_GRANTED}},
		Source:  consentv1.Source_SOURCE_API,
		Actor:   "go-example",
	})
	if err != nil {
		return fmt.Errorf("RecordConsent: %w", err)
	}
	fmt.Printf("recorded subject=%s events=%d\n", recorded.SubjectId, len(recorded.Events))
	subject := &consentv1.SubjectRef{Ref: &consentv1.SubjectRef_SubjectId{SubjectId: recorded.SubjectId}}

	check := func(step string, want consentv1.Decision) error {
		ctx, cancel := call(false)
		defer cancel()
		answer, err := consent.CheckConsent(ctx, &consentv1.CheckConsentRequest{Subject: subject, Target: target})
		if err != nil {
			return fmt.Errorf("CheckConsent: %w", err)
		}
		fmt.Printf("check after %s: %s (%s)\n", step, answer.Decision, answer.Reason)
		if answer.Decision != want {
			return fmt.Errorf("expected %s after %s, got %s", want, step, answer.Decision)
		}
		return nil
	}
	if err := check("record", consentv1.Decision_DECISION_ALLOW); err != nil {
		return err
	}
	ctx, cancel = call(true)
	defer cancel()
	if _, err := consent.WithdrawConsent(ctx, &consentv1.WithdrawConsentRequest{
		Subject: subject, Targets: []*consentv1.ConsentTarget{target}, Source: consentv1.Source_SOURCE_API, Actor: "go-example",
	}); err != nil {
		return fmt.Errorf("WithdrawConsent: %w", err)
	}
	fmt.Println("withdrawn")
	return check("withdraw", consentv1.Decision_DECISION_DENY)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "example failed:", err)
		os.Exit(1)
	}
}
