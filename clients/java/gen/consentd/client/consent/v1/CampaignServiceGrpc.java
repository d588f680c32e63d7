package consentd.client.consent.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * CampaignService serves marketing tools at campaign scale: consent checks for whole recipient
 * lists, a change feed to keep a cache or a CRM in step, and the suppression list to hand to
 * e-mail and SMS providers. Every answer follows the same rule as ConsentService.CheckConsent, and
 * sees every withdrawal acknowledged before the call (or, in a stream, the chunk) started.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: consent/v1/campaign.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class CampaignServiceGrpc {

  private CampaignServiceGrpc() {}

  public static final String SERVICE_NAME = "consent.v1.CampaignService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.BatchCheckConsentRequest,
      consentd.client.consent.v1.BatchCheckConsentResponse> getBatchCheckConsentMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "BatchCheckConsent",
      requestType = consentd.client.consent.v1.BatchCheckConsentRequest.class,
      responseType = consentd.client.consent.v1.BatchCheckConsentResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.BatchCheckConsentRequest,
      consentd.client.consent.v1.BatchCheckConsentResponse> getBatchCheckConsentMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.BatchCheckConsentRequest, consentd.client.consent.v1.BatchCheckConsentResponse> getBatchCheckConsentMethod;
    if ((getBatchCheckConsentMethod = CampaignServiceGrpc.getBatchCheckConsentMethod) == null) {
      synchronized (CampaignServiceGrpc.class) {
        if ((getBatchCheckConsentMethod = CampaignServiceGrpc.getBatchCheckConsentMethod) == null) {
          CampaignServiceGrpc.getBatchCheckConsentMethod = getBatchCheckConsentMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.BatchCheckConsentRequest, consentd.client.consent.v1.BatchCheckConsentResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "BatchCheckConsent"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.BatchCheckConsentRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.BatchCheckConsentResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CampaignServiceMethodDescriptorSupplier("BatchCheckConsent"))
              .build();
        }
      }
    }
    return getBatchCheckConsentMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.StreamCheckConsentRequest,
      consentd.client.consent.v1.StreamCheckConsentResponse> getStreamCheckConsentMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "StreamCheckConsent",
      requestType = consentd.client.consent.v1.StreamCheckConsentRequest.class,
      responseType = consentd.client.consent.v1.StreamCheckConsentResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.StreamCheckConsentRequest,
      consentd.client.consent.v1.StreamCheckConsentResponse> getStreamCheckConsentMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.StreamCheckConsentRequest, consentd.client.consent.v1.StreamCheckConsentResponse> getStreamCheckConsentMethod;
    if ((getStreamCheckConsentMethod = CampaignServiceGrpc.getStreamCheckConsentMethod) == null) {
      synchronized (CampaignServiceGrpc.class) {
        if ((getStreamCheckConsentMethod = CampaignServiceGrpc.getStreamCheckConsentMethod) == null) {
          CampaignServiceGrpc.getStreamCheckConsentMethod = getStreamCheckConsentMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.StreamCheckConsentRequest, consentd.client.consent.v1.StreamCheckConsentResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "StreamCheckConsent"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.StreamCheckConsentRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.StreamCheckConsentResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CampaignServiceMethodDescriptorSupplier("StreamCheckConsent"))
              .build();
        }
      }
    }
    return getStreamCheckConsentMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.WatchConsentChangesRequest,
      consentd.client.consent.v1.WatchConsentChangesResponse> getWatchConsentChangesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "WatchConsentChanges",
      requestType = consentd.client.consent.v1.WatchConsentChangesRequest.class,
      responseType = consentd.client.consent.v1.WatchConsentChangesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.WatchConsentChangesRequest,
      consentd.client.consent.v1.WatchConsentChangesResponse> getWatchConsentChangesMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.WatchConsentChangesRequest, consentd.client.consent.v1.WatchConsentChangesResponse> getWatchConsentChangesMethod;
    if ((getWatchConsentChangesMethod = CampaignServiceGrpc.getWatchConsentChangesMethod) == null) {
      synchronized (CampaignServiceGrpc.class) {
        if ((getWatchConsentChangesMethod = CampaignServiceGrpc.getWatchConsentChangesMethod) == null) {
          CampaignServiceGrpc.getWatchConsentChangesMethod = getWatchConsentChangesMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.WatchConsentChangesRequest, consentd.client.consent.v1.WatchConsentChangesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "WatchConsentChanges"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.WatchConsentChangesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.WatchConsentChangesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CampaignServiceMethodDescriptorSupplier("WatchConsentChanges"))
              .build();
        }
      }
    }
    return getWatchConsentChangesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ExportSuppressionListRequest,
      consentd.client.consent.v1.ExportSuppressionListResponse> getExportSuppressionListMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ExportSuppressionList",
      requestType = consentd.client.consent.v1.ExportSuppressionListRequest.class,
      responseType = consentd.client.consent.v1.ExportSuppressionListResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ExportSuppressionListRequest,
      consentd.client.consent.v1.ExportSuppressionListResponse> getExportSuppressionListMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ExportSuppressionListRequest, consentd.client.consent.v1.ExportSuppressionListResponse> getExportSuppressionListMethod;
    if ((getExportSuppressionListMethod = CampaignServiceGrpc.getExportSuppressionListMethod) == null) {
      synchronized (CampaignServiceGrpc.class) {
        if ((getExportSuppressionListMethod = CampaignServiceGrpc.getExportSuppressionListMethod) == null) {
          CampaignServiceGrpc.getExportSuppressionListMethod = getExportSuppressionListMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ExportSuppressionListRequest, consentd.client.consent.v1.ExportSuppressionListResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ExportSuppressionList"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ExportSuppressionListRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ExportSuppressionListResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CampaignServiceMethodDescriptorSupplier("ExportSuppressionList"))
              .build();
        }
      }
    }
    return getExportSuppressionListMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.HashContactPointsRequest,
      consentd.client.consent.v1.HashContactPointsResponse> getHashContactPointsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "HashContactPoints",
      requestType = consentd.client.consent.v1.HashContactPointsRequest.class,
      responseType = consentd.client.consent.v1.HashContactPointsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.HashContactPointsRequest,
      consentd.client.consent.v1.HashContactPointsResponse> getHashContactPointsMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.HashContactPointsRequest, consentd.client.consent.v1.HashContactPointsResponse> getHashContactPointsMethod;
    if ((getHashContactPointsMethod = CampaignServiceGrpc.getHashContactPointsMethod) == null) {
      synchronized (CampaignServiceGrpc.class) {
        if ((getHashContactPointsMethod = CampaignServiceGrpc.getHashContactPointsMethod) == null) {
          CampaignServiceGrpc.getHashContactPointsMethod = getHashContactPointsMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.HashContactPointsRequest, consentd.client.consent.v1.HashContactPointsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "HashContactPoints"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.HashContactPointsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.HashContactPointsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CampaignServiceMethodDescriptorSupplier("HashContactPoints"))
              .build();
        }
      }
    }
    return getHashContactPointsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.SummarizeConsentsRequest,
      consentd.client.consent.v1.SummarizeConsentsResponse> getSummarizeConsentsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SummarizeConsents",
      requestType = consentd.client.consent.v1.SummarizeConsentsRequest.class,
      responseType = consentd.client.consent.v1.SummarizeConsentsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.SummarizeConsentsRequest,
      consentd.client.consent.v1.SummarizeConsentsResponse> getSummarizeConsentsMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.SummarizeConsentsRequest, consentd.client.consent.v1.SummarizeConsentsResponse> getSummarizeConsentsMethod;
    if ((getSummarizeConsentsMethod = CampaignServiceGrpc.getSummarizeConsentsMethod) == null) {
      synchronized (CampaignServiceGrpc.class) {
        if ((getSummarizeConsentsMethod = CampaignServiceGrpc.getSummarizeConsentsMethod) == null) {
          CampaignServiceGrpc.getSummarizeConsentsMethod = getSummarizeConsentsMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.SummarizeConsentsRequest, consentd.client.consent.v1.SummarizeConsentsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SummarizeConsents"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.SummarizeConsentsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.SummarizeConsentsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CampaignServiceMethodDescriptorSupplier("SummarizeConsents"))
              .build();
        }
      }
    }
    return getSummarizeConsentsMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static CampaignServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CampaignServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CampaignServiceStub>() {
        @java.lang.Override
        public CampaignServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CampaignServiceStub(channel, callOptions);
        }
      };
    return CampaignServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static CampaignServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CampaignServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CampaignServiceBlockingStub>() {
        @java.lang.Override
        public CampaignServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CampaignServiceBlockingStub(channel, callOptions);
        }
      };
    return CampaignServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static CampaignServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CampaignServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CampaignServiceFutureStub>() {
        @java.lang.Override
        public CampaignServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CampaignServiceFutureStub(channel, callOptions);
        }
      };
    return CampaignServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * CampaignService serves marketing tools at campaign scale: consent checks for whole recipient
   * lists, a change feed to keep a cache or a CRM in step, and the suppression list to hand to
   * e-mail and SMS providers. Every answer follows the same rule as ConsentService.CheckConsent, and
   * sees every withdrawal acknowledged before the call (or, in a stream, the chunk) started.
   * </pre>
   */
  public static abstract class CampaignServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * BatchCheckConsent checks 1 to 1,000 recipients against one target, in one call. The answers
     * come in the order of the recipients; a malformed recipient gets an error answer of its own
     * and the others are still answered.
     * </pre>
     */
    public void batchCheckConsent(consentd.client.consent.v1.BatchCheckConsentRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.BatchCheckConsentResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getBatchCheckConsentMethod(), responseObserver);
    }

    /**
     * <pre>
     * StreamCheckConsent checks a recipient list of any length (millions) against one target.
     * Bidirectional on purpose: a client-streaming call could only answer once the whole list has
     * been sent, so the server would hold every answer; here each request message (a chunk of 1 to
     * 1,000 recipients) gets exactly one response message with its answers, in order, as soon as
     * it is decided. The first message names the target (and the optional as_of); later messages
     * carry only recipients. Memory is bounded on both sides: the server reads ahead at most a few
     * chunks and stops reading while the client does not read its answers (flow control), so a
     * slow reader slows the sender instead of filling the server.
     * Errors: a malformed recipient gets an error answer and the stream goes on. A message with
     * more than 1,000 recipients, a first message without a target or a later one with a target
     * ends the stream with INVALID_ARGUMENT; a message over 1 MiB with RESOURCE_EXHAUSTED, as does
     * a client that leaves answers unread for more than 60 seconds.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<consentd.client.consent.v1.StreamCheckConsentRequest> streamCheckConsent(
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.StreamCheckConsentResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getStreamCheckConsentMethod(), responseObserver);
    }

    /**
     * <pre>
     * WatchConsentChanges streams the tenant's consent events in the order they were committed,
     * from a cursor, then follows new ones as they commit (live tailing). Each change has a
     * position: 1, 2, 3... per tenant, with no gap. A client that reconnects with the cursor of the
     * last response it processed gets every later change exactly once; a cursor the feed no longer
     * matches (the database restored from an earlier backup) is INVALID_ARGUMENT saying so: read the
     * feed again from the start. Objections and
     * restrictions of processing (RightsService) are on it too, as blocks (`ConsentChange.block`),
     * so it carries every fact of a subject that decides its checks; what the catalogue decides (a
     * notice that asks for consent again, a purpose's lawful basis) is read from CatalogService.
     * An event's free text (`actor`, `evidence_reference`) is sent only to a caller that may read
     * the history (ListConsentHistory); a consent:check key gets it empty.
     * </pre>
     */
    public void watchConsentChanges(consentd.client.consent.v1.WatchConsentChangesRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.WatchConsentChangesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getWatchConsentChangesMethod(), responseObserver);
    }

    /**
     * <pre>
     * ExportSuppressionList streams everyone who must not be contacted for a target: the subjects
     * whose latest applicable fact (for the target itself or "withdraw everything") is a refusal,
     * a withdrawal or an objection, or an erasure, or whose objection or restriction of processing
     * (RightsService) is in force — decided as a check decides — then the suppression entries erasures left (no subject), as
     * keyed hashes of their e-mail address (channel EMAIL) or phone number (SMS, VOICE_CALL). Other
     * channels have no contact point to export (INVALID_ARGUMENT).
     * The hash: consentd never stores an address in clear, only HMAC-SHA256 under a key of the
     * tenant's own (derived from the server secret), so the export carries exactly that:
     * HMAC-SHA256(tenant contact key, "email:" + normalised address) or ("phone:" + E.164 number).
     * A plain SHA-256 of the address, which some providers match on, cannot be computed without the
     * address, and storing it would be as good as storing the address (a dictionary reverses it).
     * To match a list against the export, hash it with HashContactPoints (the key never leaves the
     * server) or check it with StreamCheckConsent.
     * </pre>
     */
    public void exportSuppressionList(consentd.client.consent.v1.ExportSuppressionListRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ExportSuppressionListResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getExportSuppressionListMethod(), responseObserver);
    }

    /**
     * <pre>
     * HashContactPoints gives the keyed hashes of 1 to 1,000 e-mail addresses or phone numbers, as
     * ExportSuppressionList exports them, so a sending tool can remove suppressed recipients from a
     * list without consentd's key. A malformed contact point gets an error of its own.
     * </pre>
     */
    public void hashContactPoints(consentd.client.consent.v1.HashContactPointsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.HashContactPointsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getHashContactPointsMethod(), responseObserver);
    }

    /**
     * <pre>
     * SummarizeConsents counts the tenant's people by target and current state: how many granted,
     * refused, withdrew, are pending confirmation, lapsed (a grant past its validity counts as
     * expired) or were erased, per purpose, channel and scope. Aggregates only, for a dashboard:
     * whether each person may be contacted is CheckConsent's answer (blocks, objections and notice
     * versions count there).
     * </pre>
     */
    public void summarizeConsents(consentd.client.consent.v1.SummarizeConsentsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.SummarizeConsentsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSummarizeConsentsMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getBatchCheckConsentMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.BatchCheckConsentRequest,
                consentd.client.consent.v1.BatchCheckConsentResponse>(
                  this, METHODID_BATCH_CHECK_CONSENT)))
          .addMethod(
            getStreamCheckConsentMethod(),
            io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
              new MethodHandlers<
                consentd.client.consent.v1.StreamCheckConsentRequest,
                consentd.client.consent.v1.StreamCheckConsentResponse>(
                  this, METHODID_STREAM_CHECK_CONSENT)))
          .addMethod(
            getWatchConsentChangesMethod(),
            io.grpc.stub.ServerCalls.asyncServerStreamingCall(
              new MethodHandlers<
                consentd.client.consent.v1.WatchConsentChangesRequest,
                consentd.client.consent.v1.WatchConsentChangesResponse>(
                  this, METHODID_WATCH_CONSENT_CHANGES)))
          .addMethod(
            getExportSuppressionListMethod(),
            io.grpc.stub.ServerCalls.asyncServerStreamingCall(
              new MethodHandlers<
                consentd.client.consent.v1.ExportSuppressionListRequest,
                consentd.client.consent.v1.ExportSuppressionListResponse>(
                  this, METHODID_EXPORT_SUPPRESSION_LIST)))
          .addMethod(
            getHashContactPointsMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.HashContactPointsRequest,
                consentd.client.consent.v1.HashContactPointsResponse>(
                  this, METHODID_HASH_CONTACT_POINTS)))
          .addMethod(
            getSummarizeConsentsMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.SummarizeConsentsRequest,
                consentd.client.consent.v1.SummarizeConsentsResponse>(
                  this, METHODID_SUMMARIZE_CONSENTS)))
          .build();
    }
  }

  /**
   * <pre>
   * CampaignService serves marketing tools at campaign scale: consent checks for whole recipient
   * lists, a change feed to keep a cache or a CRM in step, and the suppression list to hand to
   * e-mail and SMS providers. Every answer follows the same rule as ConsentService.CheckConsent, and
   * sees every withdrawal acknowledged before the call (or, in a stream, the chunk) started.
   * </pre>
   */
  public static final class CampaignServiceStub extends io.grpc.stub.AbstractAsyncStub<CampaignServiceStub> {
    private CampaignServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CampaignServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CampaignServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * BatchCheckConsent checks 1 to 1,000 recipients against one target, in one call. The answers
     * come in the order of the recipients; a malformed recipient gets an error answer of its own
     * and the others are still answered.
     * </pre>
     */
    public void batchCheckConsent(consentd.client.consent.v1.BatchCheckConsentRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.BatchCheckConsentResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getBatchCheckConsentMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * StreamCheckConsent checks a recipient list of any length (millions) against one target.
     * Bidirectional on purpose: a client-streaming call could only answer once the whole list has
     * been sent, so the server would hold every answer; here each request message (a chunk of 1 to
     * 1,000 recipients) gets exactly one response message with its answers, in order, as soon as
     * it is decided. The first message names the target (and the optional as_of); later messages
     * carry only recipients. Memory is bounded on both sides: the server reads ahead at most a few
     * chunks and stops reading while the client does not read its answers (flow control), so a
     * slow reader slows the sender instead of filling the server.
     * Errors: a malformed recipient gets an error answer and the stream goes on. A message with
     * more than 1,000 recipients, a first message without a target or a later one with a target
     * ends the stream with INVALID_ARGUMENT; a message over 1 MiB with RESOURCE_EXHAUSTED, as does
     * a client that leaves answers unread for more than 60 seconds.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<consentd.client.consent.v1.StreamCheckConsentRequest> streamCheckConsent(
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.StreamCheckConsentResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getStreamCheckConsentMethod(), getCallOptions()), responseObserver);
    }

    /**
     * <pre>
     * WatchConsentChanges streams the tenant's consent events in the order they were committed,
     * from a cursor, then follows new ones as they commit (live tailing). Each change has a
     * position: 1, 2, 3... per tenant, with no gap. A client that reconnects with the cursor of the
     * last response it processed gets every later change exactly once; a cursor the feed no longer
     * matches (the database restored from an earlier backup) is INVALID_ARGUMENT saying so: read the
     * feed again from the start. Objections and
     * restrictions of processing (RightsService) are on it too, as blocks (`ConsentChange.block`),
     * so it carries every fact of a subject that decides its checks; what the catalogue decides (a
     * notice that asks for consent again, a purpose's lawful basis) is read from CatalogService.
     * An event's free text (`actor`, `evidence_reference`) is sent only to a caller that may read
     * the history (ListConsentHistory); a consent:check key gets it empty.
     * </pre>
     */
    public void watchConsentChanges(consentd.client.consent.v1.WatchConsentChangesRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.WatchConsentChangesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getWatchConsentChangesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ExportSuppressionList streams everyone who must not be contacted for a target: the subjects
     * whose latest applicable fact (for the target itself or "withdraw everything") is a refusal,
     * a withdrawal or an objection, or an erasure, or whose objection or restriction of processing
     * (RightsService) is in force — decided as a check decides — then the suppression entries erasures left (no subject), as
     * keyed hashes of their e-mail address (channel EMAIL) or phone number (SMS, VOICE_CALL). Other
     * channels have no contact point to export (INVALID_ARGUMENT).
     * The hash: consentd never stores an address in clear, only HMAC-SHA256 under a key of the
     * tenant's own (derived from the server secret), so the export carries exactly that:
     * HMAC-SHA256(tenant contact key, "email:" + normalised address) or ("phone:" + E.164 number).
     * A plain SHA-256 of the address, which some providers match on, cannot be computed without the
     * address, and storing it would be as good as storing the address (a dictionary reverses it).
     * To match a list against the export, hash it with HashContactPoints (the key never leaves the
     * server) or check it with StreamCheckConsent.
     * </pre>
     */
    public void exportSuppressionList(consentd.client.consent.v1.ExportSuppressionListRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ExportSuppressionListResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getExportSuppressionListMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * HashContactPoints gives the keyed hashes of 1 to 1,000 e-mail addresses or phone numbers, as
     * ExportSuppressionList exports them, so a sending tool can remove suppressed recipients from a
     * list without consentd's key. A malformed contact point gets an error of its own.
     * </pre>
     */
    public void hashContactPoints(consentd.client.consent.v1.HashContactPointsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.HashContactPointsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getHashContactPointsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * SummarizeConsents counts the tenant's people by target and current state: how many granted,
     * refused, withdrew, are pending confirmation, lapsed (a grant past its validity counts as
     * expired) or were erased, per purpose, channel and scope. Aggregates only, for a dashboard:
     * whether each person may be contacted is CheckConsent's answer (blocks, objections and notice
     * versions count there).
     * </pre>
     */
    public void summarizeConsents(consentd.client.consent.v1.SummarizeConsentsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.SummarizeConsentsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSummarizeConsentsMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * <pre>
   * CampaignService serves marketing tools at campaign scale: consent checks for whole recipient
   * lists, a change feed to keep a cache or a CRM in step, and the suppression list to hand to
   * e-mail and SMS providers. Every answer follows the same rule as ConsentService.CheckConsent, and
   * sees every withdrawal acknowledged before the call (or, in a stream, the chunk) started.
   * </pre>
   */
  public static final class CampaignServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<CampaignServiceBlockingStub> {
    private CampaignServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CampaignServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CampaignServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * BatchCheckConsent checks 1 to 1,000 recipients against one target, in one call. The answers
     * come in the order of the recipients; a malformed recipient gets an error answer of its own
     * and the others are still answered.
     * </pre>
     */
    public consentd.client.consent.v1.BatchCheckConsentResponse batchCheckConsent(consentd.client.consent.v1.BatchCheckConsentRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getBatchCheckConsentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * WatchConsentChanges streams the tenant's consent events in the order they were committed,
     * from a cursor, then follows new ones as they commit (live tailing). Each change has a
     * position: 1, 2, 3... per tenant, with no gap. A client that reconnects with the cursor of the
     * last response it processed gets every later change exactly once; a cursor the feed no longer
     * matches (the database restored from an earlier backup) is INVALID_ARGUMENT saying so: read the
     * feed again from the start. Objections and
     * restrictions of processing (RightsService) are on it too, as blocks (`ConsentChange.block`),
     * so it carries every fact of a subject that decides its checks; what the catalogue decides (a
     * notice that asks for consent again, a purpose's lawful basis) is read from CatalogService.
     * An event's free text (`actor`, `evidence_reference`) is sent only to a caller that may read
     * the history (ListConsentHistory); a consent:check key gets it empty.
     * </pre>
     */
    public java.util.Iterator<consentd.client.consent.v1.WatchConsentChangesResponse> watchConsentChanges(
        consentd.client.consent.v1.WatchConsentChangesRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getWatchConsentChangesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ExportSuppressionList streams everyone who must not be contacted for a target: the subjects
     * whose latest applicable fact (for the target itself or "withdraw everything") is a refusal,
     * a withdrawal or an objection, or an erasure, or whose objection or restriction of processing
     * (RightsService) is in force — decided as a check decides — then the suppression entries erasures left (no subject), as
     * keyed hashes of their e-mail address (channel EMAIL) or phone number (SMS, VOICE_CALL). Other
     * channels have no contact point to export (INVALID_ARGUMENT).
     * The hash: consentd never stores an address in clear, only HMAC-SHA256 under a key of the
     * tenant's own (derived from the server secret), so the export carries exactly that:
     * HMAC-SHA256(tenant contact key, "email:" + normalised address) or ("phone:" + E.164 number).
     * A plain SHA-256 of the address, which some providers match on, cannot be computed without the
     * address, and storing it would be as good as storing the address (a dictionary reverses it).
     * To match a list against the export, hash it with HashContactPoints (the key never leaves the
     * server) or check it with StreamCheckConsent.
     * </pre>
     */
    public java.util.Iterator<consentd.client.consent.v1.ExportSuppressionListResponse> exportSuppressionList(
        consentd.client.consent.v1.ExportSuppressionListRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getExportSuppressionListMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * HashContactPoints gives the keyed hashes of 1 to 1,000 e-mail addresses or phone numbers, as
     * ExportSuppressionList exports them, so a sending tool can remove suppressed recipients from a
     * list without consentd's key. A malformed contact point gets an error of its own.
     * </pre>
     */
    public consentd.client.consent.v1.HashContactPointsResponse hashContactPoints(consentd.client.consent.v1.HashContactPointsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getHashContactPointsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * SummarizeConsents counts the tenant's people by target and current state: how many granted,
     * refused, withdrew, are pending confirmation, lapsed (a grant past its validity counts as
     * expired) or were erased, per purpose, channel and scope. Aggregates only, for a dashboard:
     * whether each person may be contacted is CheckConsent's answer (blocks, objections and notice
     * versions count there).
     * </pre>
     */
    public consentd.client.consent.v1.SummarizeConsentsResponse summarizeConsents(consentd.client.consent.v1.SummarizeConsentsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSummarizeConsentsMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * CampaignService serves marketing tools at campaign scale: consent checks for whole recipient
   * lists, a change feed to keep a cache or a CRM in step, and the suppression list to hand to
   * e-mail and SMS providers. Every answer follows the same rule as ConsentService.CheckConsent, and
   * sees every withdrawal acknowledged before the call (or, in a stream, the chunk) started.
   * </pre>
   */
  public static final class CampaignServiceFutureStub extends io.grpc.stub.AbstractFutureStub<CampaignServiceFutureStub> {
    private CampaignServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CampaignServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CampaignServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * BatchCheckConsent checks 1 to 1,000 recipients against one target, in one call. The answers
     * come in the order of the recipients; a malformed recipient gets an error answer of its own
     * and the others are still answered.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.BatchCheckConsentResponse> batchCheckConsent(
        consentd.client.consent.v1.BatchCheckConsentRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getBatchCheckConsentMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * HashContactPoints gives the keyed hashes of 1 to 1,000 e-mail addresses or phone numbers, as
     * ExportSuppressionList exports them, so a sending tool can remove suppressed recipients from a
     * list without consentd's key. A malformed contact point gets an error of its own.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.HashContactPointsResponse> hashContactPoints(
        consentd.client.consent.v1.HashContactPointsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getHashContactPointsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * SummarizeConsents counts the tenant's people by target and current state: how many granted,
     * refused, withdrew, are pending confirmation, lapsed (a grant past its validity counts as
     * expired) or were erased, per purpose, channel and scope. Aggregates only, for a dashboard:
     * whether each person may be contacted is CheckConsent's answer (blocks, objections and notice
     * versions count there).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.SummarizeConsentsResponse> summarizeConsents(
        consentd.client.consent.v1.SummarizeConsentsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSummarizeConsentsMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_BATCH_CHECK_CONSENT = 0;
  private static final int METHODID_WATCH_CONSENT_CHANGES = 1;
  private static final int METHODID_EXPORT_SUPPRESSION_LIST = 2;
  private static final int METHODID_HASH_CONTACT_POINTS = 3;
  private static final int METHODID_SUMMARIZE_CONSENTS = 4;
  private static final int METHODID_STREAM_CHECK_CONSENT = 5;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final CampaignServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(CampaignServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_BATCH_CHECK_CONSENT:
          serviceImpl.batchCheckConsent((consentd.client.consent.v1.BatchCheckConsentRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.BatchCheckConsentResponse>) responseObserver);
          break;
        case METHODID_WATCH_CONSENT_CHANGES:
          serviceImpl.watchConsentChanges((consentd.client.consent.v1.WatchConsentChangesRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.WatchConsentChangesResponse>) responseObserver);
          break;
        case METHODID_EXPORT_SUPPRESSION_LIST:
          serviceImpl.exportSuppressionList((consentd.client.consent.v1.ExportSuppressionListRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ExportSuppressionListResponse>) responseObserver);
          break;
        case METHODID_HASH_CONTACT_POINTS:
          serviceImpl.hashContactPoints((consentd.client.consent.v1.HashContactPointsRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.HashContactPointsResponse>) responseObserver);
          break;
        case METHODID_SUMMARIZE_CONSENTS:
          serviceImpl.summarizeConsents((consentd.client.consent.v1.SummarizeConsentsRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.SummarizeConsentsResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_STREAM_CHECK_CONSENT:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.streamCheckConsent(
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.StreamCheckConsentResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  private static abstract class CampaignServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    CampaignServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return consentd.client.consent.v1.Campaign.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("CampaignService");
    }
  }

  private static final class CampaignServiceFileDescriptorSupplier
      extends CampaignServiceBaseDescriptorSupplier {
    CampaignServiceFileDescriptorSupplier() {}
  }

  private static final class CampaignServiceMethodDescriptorSupplier
      extends CampaignServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    CampaignServiceMethodDescriptorSupplier(String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (CampaignServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new CampaignServiceFileDescriptorSupplier())
              .addMethod(getBatchCheckConsentMethod())
              .addMethod(getStreamCheckConsentMethod())
              .addMethod(getWatchConsentChangesMethod())
              .addMethod(getExportSuppressionListMethod())
              .addMethod(getHashContactPointsMethod())
              .addMethod(getSummarizeConsentsMethod())
              .build();
        }
      }
    }
    return result;
  }
}
