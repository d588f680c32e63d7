package consentd.client.consent.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * RetentionService keeps the facts retention depends on for the caller's tenant: the end of its
 * contract (all its data goes one month later), a legal hold (nothing goes) and the recordings'
 * storage extension, and how long a subject nobody heard from is kept. The job itself runs as
 * `consentd retention run`.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: consent/v1/retention.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class RetentionServiceGrpc {

  private RetentionServiceGrpc() {}

  public static final String SERVICE_NAME = "consent.v1.RetentionService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.GetRetentionSettingsRequest,
      consentd.client.consent.v1.GetRetentionSettingsResponse> getGetRetentionSettingsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetRetentionSettings",
      requestType = consentd.client.consent.v1.GetRetentionSettingsRequest.class,
      responseType = consentd.client.consent.v1.GetRetentionSettingsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.GetRetentionSettingsRequest,
      consentd.client.consent.v1.GetRetentionSettingsResponse> getGetRetentionSettingsMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.GetRetentionSettingsRequest, consentd.client.consent.v1.GetRetentionSettingsResponse> getGetRetentionSettingsMethod;
    if ((getGetRetentionSettingsMethod = RetentionServiceGrpc.getGetRetentionSettingsMethod) == null) {
      synchronized (RetentionServiceGrpc.class) {
        if ((getGetRetentionSettingsMethod = RetentionServiceGrpc.getGetRetentionSettingsMethod) == null) {
          RetentionServiceGrpc.getGetRetentionSettingsMethod = getGetRetentionSettingsMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.GetRetentionSettingsRequest, consentd.client.consent.v1.GetRetentionSettingsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetRetentionSettings"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetRetentionSettingsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetRetentionSettingsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RetentionServiceMethodDescriptorSupplier("GetRetentionSettings"))
              .build();
        }
      }
    }
    return getGetRetentionSettingsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.PutRetentionSettingsRequest,
      consentd.client.consent.v1.PutRetentionSettingsResponse> getPutRetentionSettingsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "PutRetentionSettings",
      requestType = consentd.client.consent.v1.PutRetentionSettingsRequest.class,
      responseType = consentd.client.consent.v1.PutRetentionSettingsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.PutRetentionSettingsRequest,
      consentd.client.consent.v1.PutRetentionSettingsResponse> getPutRetentionSettingsMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.PutRetentionSettingsRequest, consentd.client.consent.v1.PutRetentionSettingsResponse> getPutRetentionSettingsMethod;
    if ((getPutRetentionSettingsMethod = RetentionServiceGrpc.getPutRetentionSettingsMethod) == null) {
      synchronized (RetentionServiceGrpc.class) {
        if ((getPutRetentionSettingsMethod = RetentionServiceGrpc.getPutRetentionSettingsMethod) == null) {
          RetentionServiceGrpc.getPutRetentionSettingsMethod = getPutRetentionSettingsMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.PutRetentionSettingsRequest, consentd.client.consent.v1.PutRetentionSettingsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "PutRetentionSettings"))
              .setIdempotent(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.PutRetentionSettingsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.PutRetentionSettingsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RetentionServiceMethodDescriptorSupplier("PutRetentionSettings"))
              .build();
        }
      }
    }
    return getPutRetentionSettingsMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static RetentionServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<RetentionServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<RetentionServiceStub>() {
        @java.lang.Override
        public RetentionServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new RetentionServiceStub(channel, callOptions);
        }
      };
    return RetentionServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static RetentionServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<RetentionServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<RetentionServiceBlockingStub>() {
        @java.lang.Override
        public RetentionServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new RetentionServiceBlockingStub(channel, callOptions);
        }
      };
    return RetentionServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static RetentionServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<RetentionServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<RetentionServiceFutureStub>() {
        @java.lang.Override
        public RetentionServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new RetentionServiceFutureStub(channel, callOptions);
        }
      };
    return RetentionServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * RetentionService keeps the facts retention depends on for the caller's tenant: the end of its
   * contract (all its data goes one month later), a legal hold (nothing goes) and the recordings'
   * storage extension, and how long a subject nobody heard from is kept. The job itself runs as
   * `consentd retention run`.
   * </pre>
   */
  public static abstract class RetentionServiceImplBase implements io.grpc.BindableService {

    /**
     */
    public void getRetentionSettings(consentd.client.consent.v1.GetRetentionSettingsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetRetentionSettingsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetRetentionSettingsMethod(), responseObserver);
    }

    /**
     * <pre>
     * PutRetentionSettings replaces every setting with those given (no field mask): read them with
     * GetRetentionSettings, change what you mean to, put them all back. A put without a legal hold
     * lifts the one in force (logged as a warning, `legal_hold_lifted`).
     * </pre>
     */
    public void putRetentionSettings(consentd.client.consent.v1.PutRetentionSettingsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.PutRetentionSettingsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getPutRetentionSettingsMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getGetRetentionSettingsMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.GetRetentionSettingsRequest,
                consentd.client.consent.v1.GetRetentionSettingsResponse>(
                  this, METHODID_GET_RETENTION_SETTINGS)))
          .addMethod(
            getPutRetentionSettingsMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.PutRetentionSettingsRequest,
                consentd.client.consent.v1.PutRetentionSettingsResponse>(
                  this, METHODID_PUT_RETENTION_SETTINGS)))
          .build();
    }
  }

  /**
   * <pre>
   * RetentionService keeps the facts retention depends on for the caller's tenant: the end of its
   * contract (all its data goes one month later), a legal hold (nothing goes) and the recordings'
   * storage extension, and how long a subject nobody heard from is kept. The job itself runs as
   * `consentd retention run`.
   * </pre>
   */
  public static final class RetentionServiceStub extends io.grpc.stub.AbstractAsyncStub<RetentionServiceStub> {
    private RetentionServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected RetentionServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new RetentionServiceStub(channel, callOptions);
    }

    /**
     */
    public void getRetentionSettings(consentd.client.consent.v1.GetRetentionSettingsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetRetentionSettingsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetRetentionSettingsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * PutRetentionSettings replaces every setting with those given (no field mask): read them with
     * GetRetentionSettings, change what you mean to, put them all back. A put without a legal hold
     * lifts the one in force (logged as a warning, `legal_hold_lifted`).
     * </pre>
     */
    public void putRetentionSettings(consentd.client.consent.v1.PutRetentionSettingsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.PutRetentionSettingsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getPutRetentionSettingsMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * <pre>
   * RetentionService keeps the facts retention depends on for the caller's tenant: the end of its
   * contract (all its data goes one month later), a legal hold (nothing goes) and the recordings'
   * storage extension, and how long a subject nobody heard from is kept. The job itself runs as
   * `consentd retention run`.
   * </pre>
   */
  public static final class RetentionServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<RetentionServiceBlockingStub> {
    private RetentionServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected RetentionServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new RetentionServiceBlockingStub(channel, callOptions);
    }

    /**
     */
    public consentd.client.consent.v1.GetRetentionSettingsResponse getRetentionSettings(consentd.client.consent.v1.GetRetentionSettingsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetRetentionSettingsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * PutRetentionSettings replaces every setting with those given (no field mask): read them with
     * GetRetentionSettings, change what you mean to, put them all back. A put without a legal hold
     * lifts the one in force (logged as a warning, `legal_hold_lifted`).
     * </pre>
     */
    public consentd.client.consent.v1.PutRetentionSettingsResponse putRetentionSettings(consentd.client.consent.v1.PutRetentionSettingsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getPutRetentionSettingsMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * RetentionService keeps the facts retention depends on for the caller's tenant: the end of its
   * contract (all its data goes one month later), a legal hold (nothing goes) and the recordings'
   * storage extension, and how long a subject nobody heard from is kept. The job itself runs as
   * `consentd retention run`.
   * </pre>
   */
  public static final class RetentionServiceFutureStub extends io.grpc.stub.AbstractFutureStub<RetentionServiceFutureStub> {
    private RetentionServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected RetentionServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new RetentionServiceFutureStub(channel, callOptions);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.GetRetentionSettingsResponse> getRetentionSettings(
        consentd.client.consent.v1.GetRetentionSettingsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetRetentionSettingsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * PutRetentionSettings replaces every setting with those given (no field mask): read them with
     * GetRetentionSettings, change what you mean to, put them all back. A put without a legal hold
     * lifts the one in force (logged as a warning, `legal_hold_lifted`).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.PutRetentionSettingsResponse> putRetentionSettings(
        consentd.client.consent.v1.PutRetentionSettingsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getPutRetentionSettingsMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_GET_RETENTION_SETTINGS = 0;
  private static final int METHODID_PUT_RETENTION_SETTINGS = 1;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final RetentionServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(RetentionServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_GET_RETENTION_SETTINGS:
          serviceImpl.getRetentionSettings((consentd.client.consent.v1.GetRetentionSettingsRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetRetentionSettingsResponse>) responseObserver);
          break;
        case METHODID_PUT_RETENTION_SETTINGS:
          serviceImpl.putRetentionSettings((consentd.client.consent.v1.PutRetentionSettingsRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.PutRetentionSettingsResponse>) responseObserver);
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

  private static abstract class RetentionServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    RetentionServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return consentd.client.consent.v1.Retention.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("RetentionService");
    }
  }

  private static final class RetentionServiceFileDescriptorSupplier
      extends RetentionServiceBaseDescriptorSupplier {
    RetentionServiceFileDescriptorSupplier() {}
  }

  private static final class RetentionServiceMethodDescriptorSupplier
      extends RetentionServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    RetentionServiceMethodDescriptorSupplier(String methodName) {
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
      synchronized (RetentionServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new RetentionServiceFileDescriptorSupplier())
              .addMethod(getGetRetentionSettingsMethod())
              .addMethod(getPutRetentionSettingsMethod())
              .build();
        }
      }
    }
    return result;
  }
}
