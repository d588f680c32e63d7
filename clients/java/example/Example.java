// Records a consent, checks it (ALLOW), withdraws it and checks again (DENY) through the generated
// consent.v1 Java client. CONSENTD_ADDR (default 127.0.0.1:50051) and CONSENTD_API_KEY (a key
// with the admin scope: it creates its purpose first) configure it; CONSENTD_EMAIL names the subject.

import consentd.client.consent.v1.CatalogServiceGrpc;
import consentd.client.consent.v1.Channel;
import consentd.client.consent.v1.CheckConsentRequest;
import consentd.client.consent.v1.CheckConsentResponse;
import consentd.client.consent.v1.ConsentChoice;
import consentd.client.consent.v1.ConsentServiceGrpc;
import consentd.client.consent.v1.ConsentState;
import consentd.client.consent.v1.ConsentTarget;
import consentd.client.consent.v1.Decision;
import consentd.client.consent.v1.LawfulBasis;
import consentd.client.consent.v1.PartyScope;
import consentd.client.consent.v1.Purpose;
import consentd.client.consent.v1.PutPurposeRequest;
import consentd.client.consent.v1.RecordConsentRequest;
import consentd.client.consent.v1.RecordConsentResponse;
import consentd.client.consent.v1.Source;
import consentd.client.consent.v1.SubjectIdentity;
import consentd.client.consent.v1.SubjectRef;
import consentd.client.consent.v1.WithdrawConsentRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

public final class Example {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> IDEMPOTENCY_KEY =
      Metadata.Key.of("idempotency-key", Metadata.ASCII_STRING_MARSHALLER);

  private Example() {}

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : value;
  }

  /** The stub with the API key, a 10 s deadline and, for a write, a fresh idempotency key. */
  private static <S extends AbstractStub<S>> S call(S stub, String apiKey, boolean write) {
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, "Bearer " + apiKey);
    if (write) {
      headers.put(IDEMPOTENCY_KEY, UUID.randomUUID().toString());
    }
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private static void expect(String step, CheckConsentResponse answer, Decision want) {
    System.out.println("check after " + step + ": " + answer.getDecision() + " (" + answer.getReason() + ")");
    if (answer.getDecision() != want) {
      throw new IllegalStateException("expected " + want + " after " + step + ", got " + answer.getDecision());
    }
  }

  public static void main(String[] args) throws InterruptedException {
    String apiKey = env("CONSENTD_API_KEY", "");
    if (apiKey.isEmpty()) {
      System.err.println("CONSENTD_API_KEY is not set");
      System.exit(2);
    }
    String email = env("CONSENTD_EMAIL", "java-example-" + UUID.randomUUID() + "@example.org");
    ManagedChannel channel =
        ManagedChannelBuilder.forTarget(env("CONSENTD_ADDR", "127.0.0.1:50051")).usePlaintext().build();
    try {
      CatalogServiceGrpc.CatalogServiceBlockingStub catalog = CatalogServiceGrpc.newBlockingStub(channel);
      ConsentServiceGrpc.ConsentServiceBlockingStub consent = ConsentServiceGrpc.newBlockingStub(channel);
      call(catalog, apiKey, true).putPurpose(PutPurposeRequest.newBuilder()
          .setPurpose(Purpose.newBuilder()
              .setPurposeId("newsletter")
              .setDisplayName("Newsletter")
              .setLawfulBasis(LawfulBasis.LAWFUL_BASIS_CONSENT))
          .build());
      ConsentTarget target = ConsentTarget.newBuilder()
          .setPurpose("newsletter")
          .setChannel(Channel.CHANNEL_EMAIL)
          .setScope(PartyScope.PARTY_SCOPE_FIRST_PARTY)
          .build();
      RecordConsentResponse recorded = call(consent, apiKey, true).recordConsent(
          RecordConsentRequest.newBuilder()
              .setSubject(SubjectIdentity.newBuilder().setEmail(email))
              .addChoices(ConsentChoice.newBuilder().setTarget(target).setState(ConsentState.CONSENT_STATE_GRANTED))
              .setSource(Source.SOURCE_API)
              .setActor("java-example")
              .build());
      System.out.println("recorded subject=" + recorded.getSubjectId() + " events=" + recorded.getEventsCount());
      SubjectRef subject = SubjectRef.newBuilder().setSubjectId(recorded.getSubjectId()).build();
      CheckConsentRequest check = CheckConsentRequest.newBuilder().setSubject(subject).setTarget(target).build();
      expect("record", call(consent, apiKey, false).checkConsent(check), Decision.DECISION_ALLOW);
      call(consent, apiKey, true).withdrawConsent(WithdrawConsentRequest.newBuilder()
          .setSubject(subject)
          .addTargets(target)
          .setSource(Source.SOURCE_API)
          .setActor("java-example")
          .build());
      System.out.println("withdrawn");
      expect("withdraw", call(consent, apiKey, false).checkConsent(check), Decision.DECISION_DENY);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
