"""consentd: marketing consent, cookie choices and opt-outs with proof, served over gRPC."""
