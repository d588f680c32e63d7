package consentd.client.consent.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * CatalogService keeps the tenant's purposes and the versioned notices shown to subjects.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: consent/v1/catalog.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class CatalogServiceGrpc {

  private CatalogServiceGrpc() {}

  public static final String SERVICE_NAME = "consent.v1.CatalogService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.PutPurposeRequest,
      consentd.client.consent.v1.PutPurposeResponse> getPutPurposeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "PutPurpose",
      requestType = consentd.client.consent.v1.PutPurposeRequest.class,
      responseType = consentd.client.consent.v1.PutPurposeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.PutPurposeRequest,
      consentd.client.consent.v1.PutPurposeResponse> getPutPurposeMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.PutPurposeRequest, consentd.client.consent.v1.PutPurposeResponse> getPutPurposeMethod;
    if ((getPutPurposeMethod = CatalogServiceGrpc.getPutPurposeMethod) == null) {
      synchronized (CatalogServiceGrpc.class) {
        if ((getPutPurposeMethod = CatalogServiceGrpc.getPutPurposeMethod) == null) {
          CatalogServiceGrpc.getPutPurposeMethod = getPutPurposeMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.PutPurposeRequest, consentd.client.consent.v1.PutPurposeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "PutPurpose"))
              .setIdempotent(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.PutPurposeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.PutPurposeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CatalogServiceMethodDescriptorSupplier("PutPurpose"))
              .build();
        }
      }
    }
    return getPutPurposeMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.GetPurposeRequest,
      consentd.client.consent.v1.GetPurposeResponse> getGetPurposeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetPurpose",
      requestType = consentd.client.consent.v1.GetPurposeRequest.class,
      responseType = consentd.client.consent.v1.GetPurposeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.GetPurposeRequest,
      consentd.client.consent.v1.GetPurposeResponse> getGetPurposeMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.GetPurposeRequest, consentd.client.consent.v1.GetPurposeResponse> getGetPurposeMethod;
    if ((getGetPurposeMethod = CatalogServiceGrpc.getGetPurposeMethod) == null) {
      synchronized (CatalogServiceGrpc.class) {
        if ((getGetPurposeMethod = CatalogServiceGrpc.getGetPurposeMethod) == null) {
          CatalogServiceGrpc.getGetPurposeMethod = getGetPurposeMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.GetPurposeRequest, consentd.client.consent.v1.GetPurposeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetPurpose"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetPurposeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetPurposeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CatalogServiceMethodDescriptorSupplier("GetPurpose"))
              .build();
        }
      }
    }
    return getGetPurposeMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ListPurposesRequest,
      consentd.client.consent.v1.ListPurposesResponse> getListPurposesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListPurposes",
      requestType = consentd.client.consent.v1.ListPurposesRequest.class,
      responseType = consentd.client.consent.v1.ListPurposesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ListPurposesRequest,
      consentd.client.consent.v1.ListPurposesResponse> getListPurposesMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ListPurposesRequest, consentd.client.consent.v1.ListPurposesResponse> getListPurposesMethod;
    if ((getListPurposesMethod = CatalogServiceGrpc.getListPurposesMethod) == null) {
      synchronized (CatalogServiceGrpc.class) {
        if ((getListPurposesMethod = CatalogServiceGrpc.getListPurposesMethod) == null) {
          CatalogServiceGrpc.getListPurposesMethod = getListPurposesMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ListPurposesRequest, consentd.client.consent.v1.ListPurposesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListPurposes"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListPurposesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListPurposesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CatalogServiceMethodDescriptorSupplier("ListPurposes"))
              .build();
        }
      }
    }
    return getListPurposesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.PublishNoticeRequest,
      consentd.client.consent.v1.PublishNoticeResponse> getPublishNoticeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "PublishNotice",
      requestType = consentd.client.consent.v1.PublishNoticeRequest.class,
      responseType = consentd.client.consent.v1.PublishNoticeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.PublishNoticeRequest,
      consentd.client.consent.v1.PublishNoticeResponse> getPublishNoticeMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.PublishNoticeRequest, consentd.client.consent.v1.PublishNoticeResponse> getPublishNoticeMethod;
    if ((getPublishNoticeMethod = CatalogServiceGrpc.getPublishNoticeMethod) == null) {
      synchronized (CatalogServiceGrpc.class) {
        if ((getPublishNoticeMethod = CatalogServiceGrpc.getPublishNoticeMethod) == null) {
          CatalogServiceGrpc.getPublishNoticeMethod = getPublishNoticeMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.PublishNoticeRequest, consentd.client.consent.v1.PublishNoticeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "PublishNotice"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.PublishNoticeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.PublishNoticeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CatalogServiceMethodDescriptorSupplier("PublishNotice"))
              .build();
        }
      }
    }
    return getPublishNoticeMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ListNoticesRequest,
      consentd.client.consent.v1.ListNoticesResponse> getListNoticesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListNotices",
      requestType = consentd.client.consent.v1.ListNoticesRequest.class,
      responseType = consentd.client.consent.v1.ListNoticesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ListNoticesRequest,
      consentd.client.consent.v1.ListNoticesResponse> getListNoticesMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ListNoticesRequest, consentd.client.consent.v1.ListNoticesResponse> getListNoticesMethod;
    if ((getListNoticesMethod = CatalogServiceGrpc.getListNoticesMethod) == null) {
      synchronized (CatalogServiceGrpc.class) {
        if ((getListNoticesMethod = CatalogServiceGrpc.getListNoticesMethod) == null) {
          CatalogServiceGrpc.getListNoticesMethod = getListNoticesMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ListNoticesRequest, consentd.client.consent.v1.ListNoticesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListNotices"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListNoticesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListNoticesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CatalogServiceMethodDescriptorSupplier("ListNotices"))
              .build();
        }
      }
    }
    return getListNoticesMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static CatalogServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CatalogServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CatalogServiceStub>() {
        @java.lang.Override
        public CatalogServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CatalogServiceStub(channel, callOptions);
        }
      };
    return CatalogServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static CatalogServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CatalogServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CatalogServiceBlockingStub>() {
        @java.lang.Override
        public CatalogServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CatalogServiceBlockingStub(channel, callOptions);
        }
      };
    return CatalogServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static CatalogServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CatalogServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CatalogServiceFutureStub>() {
        @java.lang.Override
        public CatalogServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CatalogServiceFutureStub(channel, callOptions);
        }
      };
    return CatalogServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * CatalogService keeps the tenant's purposes and the versioned notices shown to subjects.
   * </pre>
   */
  public static abstract class CatalogServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * PutPurpose creates a purpose or updates its description and validity, or gives it a notice.
     * A purpose's lawful basis never changes once created, nor its notice once set (its grants
     * were given on that text): FAILED_PRECONDITION; create a new purpose instead.
     * </pre>
     */
    public void putPurpose(consentd.client.consent.v1.PutPurposeRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.PutPurposeResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getPutPurposeMethod(), responseObserver);
    }

    /**
     */
    public void getPurpose(consentd.client.consent.v1.GetPurposeRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetPurposeResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetPurposeMethod(), responseObserver);
    }

    /**
     */
    public void listPurposes(consentd.client.consent.v1.ListPurposesRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListPurposesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListPurposesMethod(), responseObserver);
    }

    /**
     * <pre>
     * PublishNotice stores a new version of a notice (version = previous + 1) with the SHA-256 of
     * its content. With `requires_reconsent`, grants given on older versions stop counting.
     * </pre>
     */
    public void publishNotice(consentd.client.consent.v1.PublishNoticeRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.PublishNoticeResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getPublishNoticeMethod(), responseObserver);
    }

    /**
     */
    public void listNotices(consentd.client.consent.v1.ListNoticesRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListNoticesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListNoticesMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getPutPurposeMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.PutPurposeRequest,
                consentd.client.consent.v1.PutPurposeResponse>(
                  this, METHODID_PUT_PURPOSE)))
          .addMethod(
            getGetPurposeMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.GetPurposeRequest,
                consentd.client.consent.v1.GetPurposeResponse>(
                  this, METHODID_GET_PURPOSE)))
          .addMethod(
            getListPurposesMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ListPurposesRequest,
                consentd.client.consent.v1.ListPurposesResponse>(
                  this, METHODID_LIST_PURPOSES)))
          .addMethod(
            getPublishNoticeMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.PublishNoticeRequest,
                consentd.client.consent.v1.PublishNoticeResponse>(
                  this, METHODID_PUBLISH_NOTICE)))
          .addMethod(
            getListNoticesMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ListNoticesRequest,
                consentd.client.consent.v1.ListNoticesResponse>(
                  this, METHODID_LIST_NOTICES)))
          .build();
    }
  }

  /**
   * <pre>
   * CatalogService keeps the tenant's purposes and the versioned notices shown to subjects.
   * </pre>
   */
  public static final class CatalogServiceStub extends io.grpc.stub.AbstractAsyncStub<CatalogServiceStub> {
    private CatalogServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CatalogServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CatalogServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * PutPurpose creates a purpose or updates its description and validity, or gives it a notice.
     * A purpose's lawful basis never changes once created, nor its notice once set (its grants
     * were given on that text): FAILED_PRECONDITION; create a new purpose instead.
     * </pre>
     */
    public void putPurpose(consentd.client.consent.v1.PutPurposeRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.PutPurposeResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getPutPurposeMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void getPurpose(consentd.client.consent.v1.GetPurposeRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetPurposeResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetPurposeMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void listPurposes(consentd.client.consent.v1.ListPurposesRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListPurposesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListPurposesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * PublishNotice stores a new version of a notice (version = previous + 1) with the SHA-256 of
     * its content. With `requires_reconsent`, grants given on older versions stop counting.
     * </pre>
     */
    public void publishNotice(consentd.client.consent.v1.PublishNoticeRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.PublishNoticeResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getPublishNoticeMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void listNotices(consentd.client.consent.v1.ListNoticesRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListNoticesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListNoticesMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * <pre>
   * CatalogService keeps the tenant's purposes and the versioned notices shown to subjects.
   * </pre>
   */
  public static final class CatalogServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<CatalogServiceBlockingStub> {
    private CatalogServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CatalogServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CatalogServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * PutPurpose creates a purpose or updates its description and validity, or gives it a notice.
     * A purpose's lawful basis never changes once created, nor its notice once set (its grants
     * were given on that text): FAILED_PRECONDITION; create a new purpose instead.
     * </pre>
     */
    public consentd.client.consent.v1.PutPurposeResponse putPurpose(consentd.client.consent.v1.PutPurposeRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getPutPurposeMethod(), getCallOptions(), request);
    }

    /**
     */
    public consentd.client.consent.v1.GetPurposeResponse getPurpose(consentd.client.consent.v1.GetPurposeRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetPurposeMethod(), getCallOptions(), request);
    }

    /**
     */
    public consentd.client.consent.v1.ListPurposesResponse listPurposes(consentd.client.consent.v1.ListPurposesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListPurposesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * PublishNotice stores a new version of a notice (version = previous + 1) with the SHA-256 of
     * its content. With `requires_reconsent`, grants given on older versions stop counting.
     * </pre>
     */
    public consentd.client.consent.v1.PublishNoticeResponse publishNotice(consentd.client.consent.v1.PublishNoticeRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getPublishNoticeMethod(), getCallOptions(), request);
    }

    /**
     */
    public consentd.client.consent.v1.ListNoticesResponse listNotices(consentd.client.consent.v1.ListNoticesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListNoticesMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * CatalogService keeps the tenant's purposes and the versioned notices shown to subjects.
   * </pre>
   */
  public static final class CatalogServiceFutureStub extends io.grpc.stub.AbstractFutureStub<CatalogServiceFutureStub> {
    private CatalogServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CatalogServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CatalogServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * PutPurpose creates a purpose or updates its description and validity, or gives it a notice.
     * A purpose's lawful basis never changes once created, nor its notice once set (its grants
     * were given on that text): FAILED_PRECONDITION; create a new purpose instead.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.PutPurposeResponse> putPurpose(
        consentd.client.consent.v1.PutPurposeRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getPutPurposeMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.GetPurposeResponse> getPurpose(
        consentd.client.consent.v1.GetPurposeRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetPurposeMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ListPurposesResponse> listPurposes(
        consentd.client.consent.v1.ListPurposesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListPurposesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * PublishNotice stores a new version of a notice (version = previous + 1) with the SHA-256 of
     * its content. With `requires_reconsent`, grants given on older versions stop counting.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.PublishNoticeResponse> publishNotice(
        consentd.client.consent.v1.PublishNoticeRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getPublishNoticeMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ListNoticesResponse> listNotices(
        consentd.client.consent.v1.ListNoticesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListNoticesMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_PUT_PURPOSE = 0;
  private static final int METHODID_GET_PURPOSE = 1;
  private static final int METHODID_LIST_PURPOSES = 2;
  private static final int METHODID_PUBLISH_NOTICE = 3;
  private static final int METHODID_LIST_NOTICES = 4;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final CatalogServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(CatalogServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_PUT_PURPOSE:
          serviceImpl.putPurpose((consentd.client.consent.v1.PutPurposeRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.PutPurposeResponse>) responseObserver);
          break;
        case METHODID_GET_PURPOSE:
          serviceImpl.getPurpose((consentd.client.consent.v1.GetPurposeRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetPurposeResponse>) responseObserver);
          break;
        case METHODID_LIST_PURPOSES:
          serviceImpl.listPurposes((consentd.client.consent.v1.ListPurposesRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListPurposesResponse>) responseObserver);
          break;
        case METHODID_PUBLISH_NOTICE:
          serviceImpl.publishNotice((consentd.client.consent.v1.PublishNoticeRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.PublishNoticeResponse>) responseObserver);
          break;
        case METHODID_LIST_NOTICES:
          serviceImpl.listNotices((consentd.client.consent.v1.ListNoticesRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListNoticesResponse>) responseObserver);
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

  private static abstract class CatalogServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    CatalogServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return consentd.client.consent.v1.Catalog.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("CatalogService");
    }
  }

  private static final class CatalogServiceFileDescriptorSupplier
      extends CatalogServiceBaseDescriptorSupplier {
    CatalogServiceFileDescriptorSupplier() {}
  }

  private static final class CatalogServiceMethodDescriptorSupplier
      extends CatalogServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    CatalogServiceMethodDescriptorSupplier(String methodName) {
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
      synchronized (CatalogServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new CatalogServiceFileDescriptorSupplier())
              .addMethod(getPutPurposeMethod())
              .addMethod(getGetPurposeMethod())
              .addMethod(getListPurposesMethod())
              .addMethod(getPublishNoticeMethod())
              .addMethod(getListNoticesMethod())
              .build();
        }
      }
    }
    return result;
  }
}
