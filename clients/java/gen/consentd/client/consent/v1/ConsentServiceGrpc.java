package consentd.client.consent.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * ConsentService records, withdraws and checks a subject's marketing consent.
 * The tenant is never sent in a request: it comes from the caller's credentials.
 * Every write is one transaction: the events and the current-state projection are written
 * together, or nothing is.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: consent/v1/consent.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class ConsentServiceGrpc {

  private ConsentServiceGrpc() {}

  public static final String SERVICE_NAME = "consent.v1.ConsentService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.RecordConsentRequest,
      consentd.client.consent.v1.RecordConsentResponse> getRecordConsentMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RecordConsent",
      requestType = consentd.client.consent.v1.RecordConsentRequest.class,
      responseType = consentd.client.consent.v1.RecordConsentResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.RecordConsentRequest,
      consentd.client.consent.v1.RecordConsentResponse> getRecordConsentMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.RecordConsentRequest, consentd.client.consent.v1.RecordConsentResponse> getRecordConsentMethod;
    if ((getRecordConsentMethod = ConsentServiceGrpc.getRecordConsentMethod) == null) {
      synchronized (ConsentServiceGrpc.class) {
        if ((getRecordConsentMethod = ConsentServiceGrpc.getRecordConsentMethod) == null) {
          ConsentServiceGrpc.getRecordConsentMethod = getRecordConsentMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.RecordConsentRequest, consentd.client.consent.v1.RecordConsentResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RecordConsent"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RecordConsentRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RecordConsentResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ConsentServiceMethodDescriptorSupplier("RecordConsent"))
              .build();
        }
      }
    }
    return getRecordConsentMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.WithdrawConsentRequest,
      consentd.client.consent.v1.WithdrawConsentResponse> getWithdrawConsentMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "WithdrawConsent",
      requestType = consentd.client.consent.v1.WithdrawConsentRequest.class,
      responseType = consentd.client.consent.v1.WithdrawConsentResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.WithdrawConsentRequest,
      consentd.client.consent.v1.WithdrawConsentResponse> getWithdrawConsentMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.WithdrawConsentRequest, consentd.client.consent.v1.WithdrawConsentResponse> getWithdrawConsentMethod;
    if ((getWithdrawConsentMethod = ConsentServiceGrpc.getWithdrawConsentMethod) == null) {
      synchronized (ConsentServiceGrpc.class) {
        if ((getWithdrawConsentMethod = ConsentServiceGrpc.getWithdrawConsentMethod) == null) {
          ConsentServiceGrpc.getWithdrawConsentMethod = getWithdrawConsentMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.WithdrawConsentRequest, consentd.client.consent.v1.WithdrawConsentResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "WithdrawConsent"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.WithdrawConsentRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.WithdrawConsentResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ConsentServiceMethodDescriptorSupplier("WithdrawConsent"))
              .build();
        }
      }
    }
    return getWithdrawConsentMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.CheckConsentRequest,
      consentd.client.consent.v1.CheckConsentResponse> getCheckConsentMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CheckConsent",
      requestType = consentd.client.consent.v1.CheckConsentRequest.class,
      responseType = consentd.client.consent.v1.CheckConsentResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.CheckConsentRequest,
      consentd.client.consent.v1.CheckConsentResponse> getCheckConsentMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.CheckConsentRequest, consentd.client.consent.v1.CheckConsentResponse> getCheckConsentMethod;
    if ((getCheckConsentMethod = ConsentServiceGrpc.getCheckConsentMethod) == null) {
      synchronized (ConsentServiceGrpc.class) {
        if ((getCheckConsentMethod = ConsentServiceGrpc.getCheckConsentMethod) == null) {
          ConsentServiceGrpc.getCheckConsentMethod = getCheckConsentMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.CheckConsentRequest, consentd.client.consent.v1.CheckConsentResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CheckConsent"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.CheckConsentRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.CheckConsentResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ConsentServiceMethodDescriptorSupplier("CheckConsent"))
              .build();
        }
      }
    }
    return getCheckConsentMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.GetSubjectConsentsRequest,
      consentd.client.consent.v1.GetSubjectConsentsResponse> getGetSubjectConsentsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetSubjectConsents",
      requestType = consentd.client.consent.v1.GetSubjectConsentsRequest.class,
      responseType = consentd.client.consent.v1.GetSubjectConsentsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.GetSubjectConsentsRequest,
      consentd.client.consent.v1.GetSubjectConsentsResponse> getGetSubjectConsentsMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.GetSubjectConsentsRequest, consentd.client.consent.v1.GetSubjectConsentsResponse> getGetSubjectConsentsMethod;
    if ((getGetSubjectConsentsMethod = ConsentServiceGrpc.getGetSubjectConsentsMethod) == null) {
      synchronized (ConsentServiceGrpc.class) {
        if ((getGetSubjectConsentsMethod = ConsentServiceGrpc.getGetSubjectConsentsMethod) == null) {
          ConsentServiceGrpc.getGetSubjectConsentsMethod = getGetSubjectConsentsMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.GetSubjectConsentsRequest, consentd.client.consent.v1.GetSubjectConsentsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetSubjectConsents"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetSubjectConsentsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetSubjectConsentsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ConsentServiceMethodDescriptorSupplier("GetSubjectConsents"))
              .build();
        }
      }
    }
    return getGetSubjectConsentsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ListConsentHistoryRequest,
      consentd.client.consent.v1.ListConsentHistoryResponse> getListConsentHistoryMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListConsentHistory",
      requestType = consentd.client.consent.v1.ListConsentHistoryRequest.class,
      responseType = consentd.client.consent.v1.ListConsentHistoryResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ListConsentHistoryRequest,
      consentd.client.consent.v1.ListConsentHistoryResponse> getListConsentHistoryMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ListConsentHistoryRequest, consentd.client.consent.v1.ListConsentHistoryResponse> getListConsentHistoryMethod;
    if ((getListConsentHistoryMethod = ConsentServiceGrpc.getListConsentHistoryMethod) == null) {
      synchronized (ConsentServiceGrpc.class) {
        if ((getListConsentHistoryMethod = ConsentServiceGrpc.getListConsentHistoryMethod) == null) {
          ConsentServiceGrpc.getListConsentHistoryMethod = getListConsentHistoryMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ListConsentHistoryRequest, consentd.client.consent.v1.ListConsentHistoryResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListConsentHistory"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListConsentHistoryRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListConsentHistoryResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ConsentServiceMethodDescriptorSupplier("ListConsentHistory"))
              .build();
        }
      }
    }
    return getListConsentHistoryMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ConfirmConsentRequest,
      consentd.client.consent.v1.ConfirmConsentResponse> getConfirmConsentMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ConfirmConsent",
      requestType = consentd.client.consent.v1.ConfirmConsentRequest.class,
      responseType = consentd.client.consent.v1.ConfirmConsentResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ConfirmConsentRequest,
      consentd.client.consent.v1.ConfirmConsentResponse> getConfirmConsentMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ConfirmConsentRequest, consentd.client.consent.v1.ConfirmConsentResponse> getConfirmConsentMethod;
    if ((getConfirmConsentMethod = ConsentServiceGrpc.getConfirmConsentMethod) == null) {
      synchronized (ConsentServiceGrpc.class) {
        if ((getConfirmConsentMethod = ConsentServiceGrpc.getConfirmConsentMethod) == null) {
          ConsentServiceGrpc.getConfirmConsentMethod = getConfirmConsentMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ConfirmConsentRequest, consentd.client.consent.v1.ConfirmConsentResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ConfirmConsent"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ConfirmConsentRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ConfirmConsentResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ConsentServiceMethodDescriptorSupplier("ConfirmConsent"))
              .build();
        }
      }
    }
    return getConfirmConsentMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static ConsentServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ConsentServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ConsentServiceStub>() {
        @java.lang.Override
        public ConsentServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ConsentServiceStub(channel, callOptions);
        }
      };
    return ConsentServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static ConsentServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ConsentServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ConsentServiceBlockingStub>() {
        @java.lang.Override
        public ConsentServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ConsentServiceBlockingStub(channel, callOptions);
        }
      };
    return ConsentServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static ConsentServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ConsentServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ConsentServiceFutureStub>() {
        @java.lang.Override
        public ConsentServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ConsentServiceFutureStub(channel, callOptions);
        }
      };
    return ConsentServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * ConsentService records, withdraws and checks a subject's marketing consent.
   * The tenant is never sent in a request: it comes from the caller's credentials.
   * Every write is one transaction: the events and the current-state projection are written
   * together, or nothing is.
   * </pre>
   */
  public static abstract class ConsentServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * RecordConsent grants or refuses one or more (purpose, channel, scope) for a subject, finding
     * the subject by any identifier given or creating it. The server stamps the time.
     * </pre>
     */
    public void recordConsent(consentd.client.consent.v1.RecordConsentRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RecordConsentResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRecordConsentMethod(), responseObserver);
    }

    /**
     * <pre>
     * WithdrawConsent withdraws the named targets, or everything ("stop all marketing"). It takes
     * effect for every check that starts after it returns. A withdrawal for a contact point not yet
     * known creates the subject so the opt-out is never lost. A portal token (subject:self)
     * withdrawing what is withdrawn already gets the withdrawals that stand; nothing is recorded.
     * </pre>
     */
    public void withdrawConsent(consentd.client.consent.v1.WithdrawConsentRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.WithdrawConsentResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getWithdrawConsentMethod(), responseObserver);
    }

    /**
     * <pre>
     * CheckConsent answers ALLOW or DENY for one subject and target, with the reason and the id of
     * the event that decided it. An unknown subject is DENY `no_record` for a consent purpose.
     * </pre>
     */
    public void checkConsent(consentd.client.consent.v1.CheckConsentRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.CheckConsentResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCheckConsentMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetSubjectConsents returns the current state of every target the subject has a record for;
     * a grant past its valid_until is EXPIRED, as checks answer it.
     * </pre>
     */
    public void getSubjectConsents(consentd.client.consent.v1.GetSubjectConsentsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetSubjectConsentsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetSubjectConsentsMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListConsentHistory lists a subject's consent events, newest first, a page at a time.
     * </pre>
     */
    public void listConsentHistory(consentd.client.consent.v1.ListConsentHistoryRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListConsentHistoryResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListConsentHistoryMethod(), responseObserver);
    }

    /**
     * <pre>
     * ConfirmConsent turns the pending grants of one confirmation (double opt-in) into grants,
     * given the single-use token sent to the person's contact point. A used, expired or unknown
     * token is FAILED_PRECONDITION / NOT_FOUND; a grant withdrawn meanwhile stays withdrawn.
     * </pre>
     */
    public void confirmConsent(consentd.client.consent.v1.ConfirmConsentRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ConfirmConsentResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getConfirmConsentMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getRecordConsentMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.RecordConsentRequest,
                consentd.client.consent.v1.RecordConsentResponse>(
                  this, METHODID_RECORD_CONSENT)))
          .addMethod(
            getWithdrawConsentMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.WithdrawConsentRequest,
                consentd.client.consent.v1.WithdrawConsentResponse>(
                  this, METHODID_WITHDRAW_CONSENT)))
          .addMethod(
            getCheckConsentMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.CheckConsentRequest,
                consentd.client.consent.v1.CheckConsentResponse>(
                  this, METHODID_CHECK_CONSENT)))
          .addMethod(
            getGetSubjectConsentsMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.GetSubjectConsentsRequest,
                consentd.client.consent.v1.GetSubjectConsentsResponse>(
                  this, METHODID_GET_SUBJECT_CONSENTS)))
          .addMethod(
            getListConsentHistoryMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ListConsentHistoryRequest,
                consentd.client.consent.v1.ListConsentHistoryResponse>(
                  this, METHODID_LIST_CONSENT_HISTORY)))
          .addMethod(
            getConfirmConsentMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ConfirmConsentRequest,
                consentd.client.consent.v1.ConfirmConsentResponse>(
                  this, METHODID_CONFIRM_CONSENT)))
          .build();
    }
  }

  /**
   * <pre>
   * ConsentService records, withdraws and checks a subject's marketing consent.
   * The tenant is never sent in a request: it comes from the caller's credentials.
   * Every write is one transaction: the events and the current-state projection are written
   * together, or nothing is.
   * </pre>
   */
  public static final class ConsentServiceStub extends io.grpc.stub.AbstractAsyncStub<ConsentServiceStub> {
    private ConsentServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ConsentServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ConsentServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * RecordConsent grants or refuses one or more (purpose, channel, scope) for a subject, finding
     * the subject by any identifier given or creating it. The server stamps the time.
     * </pre>
     */
    public void recordConsent(consentd.client.consent.v1.RecordConsentRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RecordConsentResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRecordConsentMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * WithdrawConsent withdraws the named targets, or everything ("stop all marketing"). It takes
     * effect for every check that starts after it returns. A withdrawal for a contact point not yet
     * known creates the subject so the opt-out is never lost. A portal token (subject:self)
     * withdrawing what is withdrawn already gets the withdrawals that stand; nothing is recorded.
     * </pre>
     */
    public void withdrawConsent(consentd.client.consent.v1.WithdrawConsentRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.WithdrawConsentResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getWithdrawConsentMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * CheckConsent answers ALLOW or DENY for one subject and target, with the reason and the id of
     * the event that decided it. An unknown subject is DENY `no_record` for a consent purpose.
     * </pre>
     */
    public void checkConsent(consentd.client.consent.v1.CheckConsentRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.CheckConsentResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCheckConsentMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetSubjectConsents returns the current state of every target the subject has a record for;
     * a grant past its valid_until is EXPIRED, as checks answer it.
     * </pre>
     */
    public void getSubjectConsents(consentd.client.consent.v1.GetSubjectConsentsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetSubjectConsentsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetSubjectConsentsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListConsentHistory lists a subject's consent events, newest first, a page at a time.
     * </pre>
     */
    public void listConsentHistory(consentd.client.consent.v1.ListConsentHistoryRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListConsentHistoryResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListConsentHistoryMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ConfirmConsent turns the pending grants of one confirmation (double opt-in) into grants,
     * given the single-use token sent to the person's contact point. A used, expired or unknown
     * token is FAILED_PRECONDITION / NOT_FOUND; a grant withdrawn meanwhile stays withdrawn.
     * </pre>
     */
    public void confirmConsent(consentd.client.consent.v1.ConfirmConsentRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ConfirmConsentResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getConfirmConsentMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * <pre>
   * ConsentService records, withdraws and checks a subject's marketing consent.
   * The tenant is never sent in a request: it comes from the caller's credentials.
   * Every write is one transaction: the events and the current-state projection are written
   * together, or nothing is.
   * </pre>
   */
  public static final class ConsentServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<ConsentServiceBlockingStub> {
    private ConsentServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ConsentServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ConsentServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * RecordConsent grants or refuses one or more (purpose, channel, scope) for a subject, finding
     * the subject by any identifier given or creating it. The server stamps the time.
     * </pre>
     */
    public consentd.client.consent.v1.RecordConsentResponse recordConsent(consentd.client.consent.v1.RecordConsentRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRecordConsentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * WithdrawConsent withdraws the named targets, or everything ("stop all marketing"). It takes
     * effect for every check that starts after it returns. A withdrawal for a contact point not yet
     * known creates the subject so the opt-out is never lost. A portal token (subject:self)
     * withdrawing what is withdrawn already gets the withdrawals that stand; nothing is recorded.
     * </pre>
     */
    public consentd.client.consent.v1.WithdrawConsentResponse withdrawConsent(consentd.client.consent.v1.WithdrawConsentRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getWithdrawConsentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * CheckConsent answers ALLOW or DENY for one subject and target, with the reason and the id of
     * the event that decided it. An unknown subject is DENY `no_record` for a consent purpose.
     * </pre>
     */
    public consentd.client.consent.v1.CheckConsentResponse checkConsent(consentd.client.consent.v1.CheckConsentRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCheckConsentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetSubjectConsents returns the current state of every target the subject has a record for;
     * a grant past its valid_until is EXPIRED, as checks answer it.
     * </pre>
     */
    public consentd.client.consent.v1.GetSubjectConsentsResponse getSubjectConsents(consentd.client.consent.v1.GetSubjectConsentsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetSubjectConsentsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListConsentHistory lists a subject's consent events, newest first, a page at a time.
     * </pre>
     */
    public consentd.client.consent.v1.ListConsentHistoryResponse listConsentHistory(consentd.client.consent.v1.ListConsentHistoryRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListConsentHistoryMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ConfirmConsent turns the pending grants of one confirmation (double opt-in) into grants,
     * given the single-use token sent to the person's contact point. A used, expired or unknown
     * token is FAILED_PRECONDITION / NOT_FOUND; a grant withdrawn meanwhile stays withdrawn.
     * </pre>
     */
    public consentd.client.consent.v1.ConfirmConsentResponse confirmConsent(consentd.client.consent.v1.ConfirmConsentRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getConfirmConsentMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * ConsentService records, withdraws and checks a subject's marketing consent.
   * The tenant is never sent in a request: it comes from the caller's credentials.
   * Every write is one transaction: the events and the current-state projection are written
   * together, or nothing is.
   * </pre>
   */
  public static final class ConsentServiceFutureStub extends io.grpc.stub.AbstractFutureStub<ConsentServiceFutureStub> {
    private ConsentServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ConsentServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ConsentServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * RecordConsent grants or refuses one or more (purpose, channel, scope) for a subject, finding
     * the subject by any identifier given or creating it. The server stamps the time.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.RecordConsentResponse> recordConsent(
        consentd.client.consent.v1.RecordConsentRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRecordConsentMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * WithdrawConsent withdraws the named targets, or everything ("stop all marketing"). It takes
     * effect for every check that starts after it returns. A withdrawal for a contact point not yet
     * known creates the subject so the opt-out is never lost. A portal token (subject:self)
     * withdrawing what is withdrawn already gets the withdrawals that stand; nothing is recorded.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.WithdrawConsentResponse> withdrawConsent(
        consentd.client.consent.v1.WithdrawConsentRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getWithdrawConsentMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * CheckConsent answers ALLOW or DENY for one subject and target, with the reason and the id of
     * the event that decided it. An unknown subject is DENY `no_record` for a consent purpose.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.CheckConsentResponse> checkConsent(
        consentd.client.consent.v1.CheckConsentRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCheckConsentMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetSubjectConsents returns the current state of every target the subject has a record for;
     * a grant past its valid_until is EXPIRED, as checks answer it.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.GetSubjectConsentsResponse> getSubjectConsents(
        consentd.client.consent.v1.GetSubjectConsentsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetSubjectConsentsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListConsentHistory lists a subject's consent events, newest first, a page at a time.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ListConsentHistoryResponse> listConsentHistory(
        consentd.client.consent.v1.ListConsentHistoryRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListConsentHistoryMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ConfirmConsent turns the pending grants of one confirmation (double opt-in) into grants,
     * given the single-use token sent to the person's contact point. A used, expired or unknown
     * token is FAILED_PRECONDITION / NOT_FOUND; a grant withdrawn meanwhile stays withdrawn.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ConfirmConsentResponse> confirmConsent(
        consentd.client.consent.v1.ConfirmConsentRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getConfirmConsentMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_RECORD_CONSENT = 0;
  private static final int METHODID_WITHDRAW_CONSENT = 1;
  private static final int METHODID_CHECK_CONSENT = 2;
  private static final int METHODID_GET_SUBJECT_CONSENTS = 3;
  private static final int METHODID_LIST_CONSENT_HISTORY = 4;
  private static final int METHODID_CONFIRM_CONSENT = 5;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final ConsentServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(ConsentServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_RECORD_CONSENT:
          serviceImpl.recordConsent((consentd.client.consent.v1.RecordConsentRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.RecordConsentResponse>) responseObserver);
          break;
        case METHODID_WITHDRAW_CONSENT:
          serviceImpl.withdrawConsent((consentd.client.consent.v1.WithdrawConsentRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.WithdrawConsentResponse>) responseObserver);
          break;
        case METHODID_CHECK_CONSENT:
          serviceImpl.checkConsent((consentd.client.consent.v1.CheckConsentRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.CheckConsentResponse>) responseObserver);
          break;
        case METHODID_GET_SUBJECT_CONSENTS:
          serviceImpl.getSubjectConsents((consentd.client.consent.v1.GetSubjectConsentsRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetSubjectConsentsResponse>) responseObserver);
          break;
        case METHODID_LIST_CONSENT_HISTORY:
          serviceImpl.listConsentHistory((consentd.client.consent.v1.ListConsentHistoryRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListConsentHistoryResponse>) responseObserver);
          break;
        case METHODID_CONFIRM_CONSENT:
          serviceImpl.confirmConsent((consentd.client.consent.v1.ConfirmConsentRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ConfirmConsentResponse>) responseObserver);
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
        default:
          throw new AssertionError();
      }
    }
  }

  private static abstract class ConsentServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    ConsentServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return consentd.client.consent.v1.Consent.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("ConsentService");
    }
  }

  private static final class ConsentServiceFileDescriptorSupplier
      extends ConsentServiceBaseDescriptorSupplier {
    ConsentServiceFileDescriptorSupplier() {}
  }

  private static final class ConsentServiceMethodDescriptorSupplier
      extends ConsentServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    ConsentServiceMethodDescriptorSupplier(String methodName) {
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
      synchronized (ConsentServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new ConsentServiceFileDescriptorSupplier())
              .addMethod(getRecordConsentMethod())
              .addMethod(getWithdrawConsentMethod())
              .addMethod(getCheckConsentMethod())
              .addMethod(getGetSubjectConsentsMethod())
              .addMethod(getListConsentHistoryMethod())
              .addMethod(getConfirmConsentMethod())
              .build();
        }
      }
    }
    return result;
  }
}
