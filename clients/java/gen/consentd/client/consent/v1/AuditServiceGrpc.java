package consentd.client.consent.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * AuditService gives proof: the tenant's tamper-evident audit chain, its signed checkpoints, and
 * the scope of a breach for the 48-hour notice.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: consent/v1/audit.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class AuditServiceGrpc {

  private AuditServiceGrpc() {}

  public static final String SERVICE_NAME = "consent.v1.AuditService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.VerifyAuditChainRequest,
      consentd.client.consent.v1.VerifyAuditChainResponse> getVerifyAuditChainMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "VerifyAuditChain",
      requestType = consentd.client.consent.v1.VerifyAuditChainRequest.class,
      responseType = consentd.client.consent.v1.VerifyAuditChainResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.VerifyAuditChainRequest,
      consentd.client.consent.v1.VerifyAuditChainResponse> getVerifyAuditChainMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.VerifyAuditChainRequest, consentd.client.consent.v1.VerifyAuditChainResponse> getVerifyAuditChainMethod;
    if ((getVerifyAuditChainMethod = AuditServiceGrpc.getVerifyAuditChainMethod) == null) {
      synchronized (AuditServiceGrpc.class) {
        if ((getVerifyAuditChainMethod = AuditServiceGrpc.getVerifyAuditChainMethod) == null) {
          AuditServiceGrpc.getVerifyAuditChainMethod = getVerifyAuditChainMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.VerifyAuditChainRequest, consentd.client.consent.v1.VerifyAuditChainResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "VerifyAuditChain"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.VerifyAuditChainRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.VerifyAuditChainResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AuditServiceMethodDescriptorSupplier("VerifyAuditChain"))
              .build();
        }
      }
    }
    return getVerifyAuditChainMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.CreateAuditCheckpointRequest,
      consentd.client.consent.v1.CreateAuditCheckpointResponse> getCreateAuditCheckpointMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateAuditCheckpoint",
      requestType = consentd.client.consent.v1.CreateAuditCheckpointRequest.class,
      responseType = consentd.client.consent.v1.CreateAuditCheckpointResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.CreateAuditCheckpointRequest,
      consentd.client.consent.v1.CreateAuditCheckpointResponse> getCreateAuditCheckpointMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.CreateAuditCheckpointRequest, consentd.client.consent.v1.CreateAuditCheckpointResponse> getCreateAuditCheckpointMethod;
    if ((getCreateAuditCheckpointMethod = AuditServiceGrpc.getCreateAuditCheckpointMethod) == null) {
      synchronized (AuditServiceGrpc.class) {
        if ((getCreateAuditCheckpointMethod = AuditServiceGrpc.getCreateAuditCheckpointMethod) == null) {
          AuditServiceGrpc.getCreateAuditCheckpointMethod = getCreateAuditCheckpointMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.CreateAuditCheckpointRequest, consentd.client.consent.v1.CreateAuditCheckpointResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateAuditCheckpoint"))
              .setIdempotent(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.CreateAuditCheckpointRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.CreateAuditCheckpointResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AuditServiceMethodDescriptorSupplier("CreateAuditCheckpoint"))
              .build();
        }
      }
    }
    return getCreateAuditCheckpointMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ListAuditCheckpointsRequest,
      consentd.client.consent.v1.ListAuditCheckpointsResponse> getListAuditCheckpointsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListAuditCheckpoints",
      requestType = consentd.client.consent.v1.ListAuditCheckpointsRequest.class,
      responseType = consentd.client.consent.v1.ListAuditCheckpointsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ListAuditCheckpointsRequest,
      consentd.client.consent.v1.ListAuditCheckpointsResponse> getListAuditCheckpointsMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ListAuditCheckpointsRequest, consentd.client.consent.v1.ListAuditCheckpointsResponse> getListAuditCheckpointsMethod;
    if ((getListAuditCheckpointsMethod = AuditServiceGrpc.getListAuditCheckpointsMethod) == null) {
      synchronized (AuditServiceGrpc.class) {
        if ((getListAuditCheckpointsMethod = AuditServiceGrpc.getListAuditCheckpointsMethod) == null) {
          AuditServiceGrpc.getListAuditCheckpointsMethod = getListAuditCheckpointsMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ListAuditCheckpointsRequest, consentd.client.consent.v1.ListAuditCheckpointsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListAuditCheckpoints"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListAuditCheckpointsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListAuditCheckpointsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AuditServiceMethodDescriptorSupplier("ListAuditCheckpoints"))
              .build();
        }
      }
    }
    return getListAuditCheckpointsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.GetAuditTreeHeadRequest,
      consentd.client.consent.v1.GetAuditTreeHeadResponse> getGetAuditTreeHeadMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetAuditTreeHead",
      requestType = consentd.client.consent.v1.GetAuditTreeHeadRequest.class,
      responseType = consentd.client.consent.v1.GetAuditTreeHeadResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.GetAuditTreeHeadRequest,
      consentd.client.consent.v1.GetAuditTreeHeadResponse> getGetAuditTreeHeadMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.GetAuditTreeHeadRequest, consentd.client.consent.v1.GetAuditTreeHeadResponse> getGetAuditTreeHeadMethod;
    if ((getGetAuditTreeHeadMethod = AuditServiceGrpc.getGetAuditTreeHeadMethod) == null) {
      synchronized (AuditServiceGrpc.class) {
        if ((getGetAuditTreeHeadMethod = AuditServiceGrpc.getGetAuditTreeHeadMethod) == null) {
          AuditServiceGrpc.getGetAuditTreeHeadMethod = getGetAuditTreeHeadMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.GetAuditTreeHeadRequest, consentd.client.consent.v1.GetAuditTreeHeadResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetAuditTreeHead"))
              .setIdempotent(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetAuditTreeHeadRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetAuditTreeHeadResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AuditServiceMethodDescriptorSupplier("GetAuditTreeHead"))
              .build();
        }
      }
    }
    return getGetAuditTreeHeadMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ProveAuditInclusionRequest,
      consentd.client.consent.v1.ProveAuditInclusionResponse> getProveAuditInclusionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ProveAuditInclusion",
      requestType = consentd.client.consent.v1.ProveAuditInclusionRequest.class,
      responseType = consentd.client.consent.v1.ProveAuditInclusionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ProveAuditInclusionRequest,
      consentd.client.consent.v1.ProveAuditInclusionResponse> getProveAuditInclusionMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ProveAuditInclusionRequest, consentd.client.consent.v1.ProveAuditInclusionResponse> getProveAuditInclusionMethod;
    if ((getProveAuditInclusionMethod = AuditServiceGrpc.getProveAuditInclusionMethod) == null) {
      synchronized (AuditServiceGrpc.class) {
        if ((getProveAuditInclusionMethod = AuditServiceGrpc.getProveAuditInclusionMethod) == null) {
          AuditServiceGrpc.getProveAuditInclusionMethod = getProveAuditInclusionMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ProveAuditInclusionRequest, consentd.client.consent.v1.ProveAuditInclusionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ProveAuditInclusion"))
              .setIdempotent(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ProveAuditInclusionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ProveAuditInclusionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AuditServiceMethodDescriptorSupplier("ProveAuditInclusion"))
              .build();
        }
      }
    }
    return getProveAuditInclusionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ProveAuditConsistencyRequest,
      consentd.client.consent.v1.ProveAuditConsistencyResponse> getProveAuditConsistencyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ProveAuditConsistency",
      requestType = consentd.client.consent.v1.ProveAuditConsistencyRequest.class,
      responseType = consentd.client.consent.v1.ProveAuditConsistencyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ProveAuditConsistencyRequest,
      consentd.client.consent.v1.ProveAuditConsistencyResponse> getProveAuditConsistencyMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ProveAuditConsistencyRequest, consentd.client.consent.v1.ProveAuditConsistencyResponse> getProveAuditConsistencyMethod;
    if ((getProveAuditConsistencyMethod = AuditServiceGrpc.getProveAuditConsistencyMethod) == null) {
      synchronized (AuditServiceGrpc.class) {
        if ((getProveAuditConsistencyMethod = AuditServiceGrpc.getProveAuditConsistencyMethod) == null) {
          AuditServiceGrpc.getProveAuditConsistencyMethod = getProveAuditConsistencyMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ProveAuditConsistencyRequest, consentd.client.consent.v1.ProveAuditConsistencyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ProveAuditConsistency"))
              .setIdempotent(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ProveAuditConsistencyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ProveAuditConsistencyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AuditServiceMethodDescriptorSupplier("ProveAuditConsistency"))
              .build();
        }
      }
    }
    return getProveAuditConsistencyMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ScopeBreachRequest,
      consentd.client.consent.v1.ScopeBreachResponse> getScopeBreachMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ScopeBreach",
      requestType = consentd.client.consent.v1.ScopeBreachRequest.class,
      responseType = consentd.client.consent.v1.ScopeBreachResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ScopeBreachRequest,
      consentd.client.consent.v1.ScopeBreachResponse> getScopeBreachMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ScopeBreachRequest, consentd.client.consent.v1.ScopeBreachResponse> getScopeBreachMethod;
    if ((getScopeBreachMethod = AuditServiceGrpc.getScopeBreachMethod) == null) {
      synchronized (AuditServiceGrpc.class) {
        if ((getScopeBreachMethod = AuditServiceGrpc.getScopeBreachMethod) == null) {
          AuditServiceGrpc.getScopeBreachMethod = getScopeBreachMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ScopeBreachRequest, consentd.client.consent.v1.ScopeBreachResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ScopeBreach"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ScopeBreachRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ScopeBreachResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AuditServiceMethodDescriptorSupplier("ScopeBreach"))
              .build();
        }
      }
    }
    return getScopeBreachMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ListBreachSubjectsRequest,
      consentd.client.consent.v1.ListBreachSubjectsResponse> getListBreachSubjectsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListBreachSubjects",
      requestType = consentd.client.consent.v1.ListBreachSubjectsRequest.class,
      responseType = consentd.client.consent.v1.ListBreachSubjectsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ListBreachSubjectsRequest,
      consentd.client.consent.v1.ListBreachSubjectsResponse> getListBreachSubjectsMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ListBreachSubjectsRequest, consentd.client.consent.v1.ListBreachSubjectsResponse> getListBreachSubjectsMethod;
    if ((getListBreachSubjectsMethod = AuditServiceGrpc.getListBreachSubjectsMethod) == null) {
      synchronized (AuditServiceGrpc.class) {
        if ((getListBreachSubjectsMethod = AuditServiceGrpc.getListBreachSubjectsMethod) == null) {
          AuditServiceGrpc.getListBreachSubjectsMethod = getListBreachSubjectsMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ListBreachSubjectsRequest, consentd.client.consent.v1.ListBreachSubjectsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListBreachSubjects"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListBreachSubjectsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListBreachSubjectsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new AuditServiceMethodDescriptorSupplier("ListBreachSubjects"))
              .build();
        }
      }
    }
    return getListBreachSubjectsMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static AuditServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AuditServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AuditServiceStub>() {
        @java.lang.Override
        public AuditServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AuditServiceStub(channel, callOptions);
        }
      };
    return AuditServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static AuditServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AuditServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AuditServiceBlockingStub>() {
        @java.lang.Override
        public AuditServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AuditServiceBlockingStub(channel, callOptions);
        }
      };
    return AuditServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static AuditServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AuditServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AuditServiceFutureStub>() {
        @java.lang.Override
        public AuditServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AuditServiceFutureStub(channel, callOptions);
        }
      };
    return AuditServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * AuditService gives proof: the tenant's tamper-evident audit chain, its signed checkpoints, and
   * the scope of a breach for the 48-hour notice.
   * </pre>
   */
  public static abstract class AuditServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * VerifyAuditChain recomputes the caller's tenant's hash chain (from the start, or from the
     * signed checkpoint retention left) and names the first bad entry.
     * </pre>
     */
    public void verifyAuditChain(consentd.client.consent.v1.VerifyAuditChainRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.VerifyAuditChainResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getVerifyAuditChainMethod(), responseObserver);
    }

    /**
     * <pre>
     * CreateAuditCheckpoint signs the chain's head (Ed25519) unless it is signed already.
     * </pre>
     */
    public void createAuditCheckpoint(consentd.client.consent.v1.CreateAuditCheckpointRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.CreateAuditCheckpointResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateAuditCheckpointMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListAuditCheckpoints returns the kept checkpoints with the public key, to publish as proof.
     * </pre>
     */
    public void listAuditCheckpoints(consentd.client.consent.v1.ListAuditCheckpointsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListAuditCheckpointsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListAuditCheckpointsMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetAuditTreeHead returns the signed head (Ed25519) of the tenant's Merkle tree (RFC 9162)
     * over its first `tree_size` entries (0: all of them, once what was queued is integrated),
     * signing it now unless it was signed before.
     * </pre>
     */
    public void getAuditTreeHead(consentd.client.consent.v1.GetAuditTreeHeadRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetAuditTreeHeadResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetAuditTreeHeadMethod(), responseObserver);
    }

    /**
     * <pre>
     * ProveAuditInclusion proves that an entry (by seq, or the entry of a fact: a consent event
     * or a cookie choice, its content recomputed from the fact as it stands now) is in the tree
     * of a signed head: RFC 9162 §2.1.3. Checkable outside consentd (docs/audit.md).
     * </pre>
     */
    public void proveAuditInclusion(consentd.client.consent.v1.ProveAuditInclusionRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ProveAuditInclusionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getProveAuditInclusionMethod(), responseObserver);
    }

    /**
     * <pre>
     * ProveAuditConsistency proves that the tree of `first` entries is a prefix of the tree of
     * `second` entries (RFC 9162 §2.1.4): nothing signed before was rewritten.
     * </pre>
     */
    public void proveAuditConsistency(consentd.client.consent.v1.ProveAuditConsistencyRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ProveAuditConsistencyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getProveAuditConsistencyMethod(), responseObserver);
    }

    /**
     * <pre>
     * ScopeBreach reports, for a time window, how many subjects had data written or changed, how many
     * were held, and the data categories touched, per tenant.
     * </pre>
     */
    public void scopeBreach(consentd.client.consent.v1.ScopeBreachRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ScopeBreachResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getScopeBreachMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListBreachSubjects lists which subjects of the caller's tenant a time window touched (the
     * people a breach notice concerns), each with the data categories touched, by subject id, a
     * page at a time. ScopeBreach's `subjects_touched` counts the same subjects.
     * </pre>
     */
    public void listBreachSubjects(consentd.client.consent.v1.ListBreachSubjectsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListBreachSubjectsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListBreachSubjectsMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getVerifyAuditChainMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.VerifyAuditChainRequest,
                consentd.client.consent.v1.VerifyAuditChainResponse>(
                  this, METHODID_VERIFY_AUDIT_CHAIN)))
          .addMethod(
            getCreateAuditCheckpointMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.CreateAuditCheckpointRequest,
                consentd.client.consent.v1.CreateAuditCheckpointResponse>(
                  this, METHODID_CREATE_AUDIT_CHECKPOINT)))
          .addMethod(
            getListAuditCheckpointsMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ListAuditCheckpointsRequest,
                consentd.client.consent.v1.ListAuditCheckpointsResponse>(
                  this, METHODID_LIST_AUDIT_CHECKPOINTS)))
          .addMethod(
            getGetAuditTreeHeadMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.GetAuditTreeHeadRequest,
                consentd.client.consent.v1.GetAuditTreeHeadResponse>(
                  this, METHODID_GET_AUDIT_TREE_HEAD)))
          .addMethod(
            getProveAuditInclusionMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ProveAuditInclusionRequest,
                consentd.client.consent.v1.ProveAuditInclusionResponse>(
                  this, METHODID_PROVE_AUDIT_INCLUSION)))
          .addMethod(
            getProveAuditConsistencyMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ProveAuditConsistencyRequest,
                consentd.client.consent.v1.ProveAuditConsistencyResponse>(
                  this, METHODID_PROVE_AUDIT_CONSISTENCY)))
          .addMethod(
            getScopeBreachMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ScopeBreachRequest,
                consentd.client.consent.v1.ScopeBreachResponse>(
                  this, METHODID_SCOPE_BREACH)))
          .addMethod(
            getListBreachSubjectsMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ListBreachSubjectsRequest,
                consentd.client.consent.v1.ListBreachSubjectsResponse>(
                  this, METHODID_LIST_BREACH_SUBJECTS)))
          .build();
    }
  }

  /**
   * <pre>
   * AuditService gives proof: the tenant's tamper-evident audit chain, its signed checkpoints, and
   * the scope of a breach for the 48-hour notice.
   * </pre>
   */
  public static final class AuditServiceStub extends io.grpc.stub.AbstractAsyncStub<AuditServiceStub> {
    private AuditServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AuditServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AuditServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * VerifyAuditChain recomputes the caller's tenant's hash chain (from the start, or from the
     * signed checkpoint retention left) and names the first bad entry.
     * </pre>
     */
    public void verifyAuditChain(consentd.client.consent.v1.VerifyAuditChainRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.VerifyAuditChainResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getVerifyAuditChainMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * CreateAuditCheckpoint signs the chain's head (Ed25519) unless it is signed already.
     * </pre>
     */
    public void createAuditCheckpoint(consentd.client.consent.v1.CreateAuditCheckpointRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.CreateAuditCheckpointResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateAuditCheckpointMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListAuditCheckpoints returns the kept checkpoints with the public key, to publish as proof.
     * </pre>
     */
    public void listAuditCheckpoints(consentd.client.consent.v1.ListAuditCheckpointsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListAuditCheckpointsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListAuditCheckpointsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetAuditTreeHead returns the signed head (Ed25519) of the tenant's Merkle tree (RFC 9162)
     * over its first `tree_size` entries (0: all of them, once what was queued is integrated),
     * signing it now unless it was signed before.
     * </pre>
     */
    public void getAuditTreeHead(consentd.client.consent.v1.GetAuditTreeHeadRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetAuditTreeHeadResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetAuditTreeHeadMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ProveAuditInclusion proves that an entry (by seq, or the entry of a fact: a consent event
     * or a cookie choice, its content recomputed from the fact as it stands now) is in the tree
     * of a signed head: RFC 9162 §2.1.3. Checkable outside consentd (docs/audit.md).
     * </pre>
     */
    public void proveAuditInclusion(consentd.client.consent.v1.ProveAuditInclusionRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ProveAuditInclusionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getProveAuditInclusionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ProveAuditConsistency proves that the tree of `first` entries is a prefix of the tree of
     * `second` entries (RFC 9162 §2.1.4): nothing signed before was rewritten.
     * </pre>
     */
    public void proveAuditConsistency(consentd.client.consent.v1.ProveAuditConsistencyRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ProveAuditConsistencyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getProveAuditConsistencyMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ScopeBreach reports, for a time window, how many subjects had data written or changed, how many
     * were held, and the data categories touched, per tenant.
     * </pre>
     */
    public void scopeBreach(consentd.client.consent.v1.ScopeBreachRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ScopeBreachResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getScopeBreachMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListBreachSubjects lists which subjects of the caller's tenant a time window touched (the
     * people a breach notice concerns), each with the data categories touched, by subject id, a
     * page at a time. ScopeBreach's `subjects_touched` counts the same subjects.
     * </pre>
     */
    public void listBreachSubjects(consentd.client.consent.v1.ListBreachSubjectsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListBreachSubjectsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListBreachSubjectsMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * <pre>
   * AuditService gives proof: the tenant's tamper-evident audit chain, its signed checkpoints, and
   * the scope of a breach for the 48-hour notice.
   * </pre>
   */
  public static final class AuditServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<AuditServiceBlockingStub> {
    private AuditServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AuditServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AuditServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * VerifyAuditChain recomputes the caller's tenant's hash chain (from the start, or from the
     * signed checkpoint retention left) and names the first bad entry.
     * </pre>
     */
    public consentd.client.consent.v1.VerifyAuditChainResponse verifyAuditChain(consentd.client.consent.v1.VerifyAuditChainRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getVerifyAuditChainMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * CreateAuditCheckpoint signs the chain's head (Ed25519) unless it is signed already.
     * </pre>
     */
    public consentd.client.consent.v1.CreateAuditCheckpointResponse createAuditCheckpoint(consentd.client.consent.v1.CreateAuditCheckpointRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateAuditCheckpointMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListAuditCheckpoints returns the kept checkpoints with the public key, to publish as proof.
     * </pre>
     */
    public consentd.client.consent.v1.ListAuditCheckpointsResponse listAuditCheckpoints(consentd.client.consent.v1.ListAuditCheckpointsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListAuditCheckpointsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetAuditTreeHead returns the signed head (Ed25519) of the tenant's Merkle tree (RFC 9162)
     * over its first `tree_size` entries (0: all of them, once what was queued is integrated),
     * signing it now unless it was signed before.
     * </pre>
     */
    public consentd.client.consent.v1.GetAuditTreeHeadResponse getAuditTreeHead(consentd.client.consent.v1.GetAuditTreeHeadRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetAuditTreeHeadMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ProveAuditInclusion proves that an entry (by seq, or the entry of a fact: a consent event
     * or a cookie choice, its content recomputed from the fact as it stands now) is in the tree
     * of a signed head: RFC 9162 §2.1.3. Checkable outside consentd (docs/audit.md).
     * </pre>
     */
    public consentd.client.consent.v1.ProveAuditInclusionResponse proveAuditInclusion(consentd.client.consent.v1.ProveAuditInclusionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getProveAuditInclusionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ProveAuditConsistency proves that the tree of `first` entries is a prefix of the tree of
     * `second` entries (RFC 9162 §2.1.4): nothing signed before was rewritten.
     * </pre>
     */
    public consentd.client.consent.v1.ProveAuditConsistencyResponse proveAuditConsistency(consentd.client.consent.v1.ProveAuditConsistencyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getProveAuditConsistencyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ScopeBreach reports, for a time window, how many subjects had data written or changed, how many
     * were held, and the data categories touched, per tenant.
     * </pre>
     */
    public consentd.client.consent.v1.ScopeBreachResponse scopeBreach(consentd.client.consent.v1.ScopeBreachRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getScopeBreachMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListBreachSubjects lists which subjects of the caller's tenant a time window touched (the
     * people a breach notice concerns), each with the data categories touched, by subject id, a
     * page at a time. ScopeBreach's `subjects_touched` counts the same subjects.
     * </pre>
     */
    public consentd.client.consent.v1.ListBreachSubjectsResponse listBreachSubjects(consentd.client.consent.v1.ListBreachSubjectsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListBreachSubjectsMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * AuditService gives proof: the tenant's tamper-evident audit chain, its signed checkpoints, and
   * the scope of a breach for the 48-hour notice.
   * </pre>
   */
  public static final class AuditServiceFutureStub extends io.grpc.stub.AbstractFutureStub<AuditServiceFutureStub> {
    private AuditServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AuditServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AuditServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * VerifyAuditChain recomputes the caller's tenant's hash chain (from the start, or from the
     * signed checkpoint retention left) and names the first bad entry.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.VerifyAuditChainResponse> verifyAuditChain(
        consentd.client.consent.v1.VerifyAuditChainRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getVerifyAuditChainMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * CreateAuditCheckpoint signs the chain's head (Ed25519) unless it is signed already.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.CreateAuditCheckpointResponse> createAuditCheckpoint(
        consentd.client.consent.v1.CreateAuditCheckpointRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateAuditCheckpointMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListAuditCheckpoints returns the kept checkpoints with the public key, to publish as proof.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ListAuditCheckpointsResponse> listAuditCheckpoints(
        consentd.client.consent.v1.ListAuditCheckpointsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListAuditCheckpointsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetAuditTreeHead returns the signed head (Ed25519) of the tenant's Merkle tree (RFC 9162)
     * over its first `tree_size` entries (0: all of them, once what was queued is integrated),
     * signing it now unless it was signed before.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.GetAuditTreeHeadResponse> getAuditTreeHead(
        consentd.client.consent.v1.GetAuditTreeHeadRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetAuditTreeHeadMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ProveAuditInclusion proves that an entry (by seq, or the entry of a fact: a consent event
     * or a cookie choice, its content recomputed from the fact as it stands now) is in the tree
     * of a signed head: RFC 9162 §2.1.3. Checkable outside consentd (docs/audit.md).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ProveAuditInclusionResponse> proveAuditInclusion(
        consentd.client.consent.v1.ProveAuditInclusionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getProveAuditInclusionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ProveAuditConsistency proves that the tree of `first` entries is a prefix of the tree of
     * `second` entries (RFC 9162 §2.1.4): nothing signed before was rewritten.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ProveAuditConsistencyResponse> proveAuditConsistency(
        consentd.client.consent.v1.ProveAuditConsistencyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getProveAuditConsistencyMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ScopeBreach reports, for a time window, how many subjects had data written or changed, how many
     * were held, and the data categories touched, per tenant.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ScopeBreachResponse> scopeBreach(
        consentd.client.consent.v1.ScopeBreachRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getScopeBreachMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListBreachSubjects lists which subjects of the caller's tenant a time window touched (the
     * people a breach notice concerns), each with the data categories touched, by subject id, a
     * page at a time. ScopeBreach's `subjects_touched` counts the same subjects.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ListBreachSubjectsResponse> listBreachSubjects(
        consentd.client.consent.v1.ListBreachSubjectsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListBreachSubjectsMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_VERIFY_AUDIT_CHAIN = 0;
  private static final int METHODID_CREATE_AUDIT_CHECKPOINT = 1;
  private static final int METHODID_LIST_AUDIT_CHECKPOINTS = 2;
  private static final int METHODID_GET_AUDIT_TREE_HEAD = 3;
  private static final int METHODID_PROVE_AUDIT_INCLUSION = 4;
  private static final int METHODID_PROVE_AUDIT_CONSISTENCY = 5;
  private static final int METHODID_SCOPE_BREACH = 6;
  private static final int METHODID_LIST_BREACH_SUBJECTS = 7;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AuditServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(AuditServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_VERIFY_AUDIT_CHAIN:
          serviceImpl.verifyAuditChain((consentd.client.consent.v1.VerifyAuditChainRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.VerifyAuditChainResponse>) responseObserver);
          break;
        case METHODID_CREATE_AUDIT_CHECKPOINT:
          serviceImpl.createAuditCheckpoint((consentd.client.consent.v1.CreateAuditCheckpointRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.CreateAuditCheckpointResponse>) responseObserver);
          break;
        case METHODID_LIST_AUDIT_CHECKPOINTS:
          serviceImpl.listAuditCheckpoints((consentd.client.consent.v1.ListAuditCheckpointsRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListAuditCheckpointsResponse>) responseObserver);
          break;
        case METHODID_GET_AUDIT_TREE_HEAD:
          serviceImpl.getAuditTreeHead((consentd.client.consent.v1.GetAuditTreeHeadRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetAuditTreeHeadResponse>) responseObserver);
          break;
        case METHODID_PROVE_AUDIT_INCLUSION:
          serviceImpl.proveAuditInclusion((consentd.client.consent.v1.ProveAuditInclusionRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ProveAuditInclusionResponse>) responseObserver);
          break;
        case METHODID_PROVE_AUDIT_CONSISTENCY:
          serviceImpl.proveAuditConsistency((consentd.client.consent.v1.ProveAuditConsistencyRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ProveAuditConsistencyResponse>) responseObserver);
          break;
        case METHODID_SCOPE_BREACH:
          serviceImpl.scopeBreach((consentd.client.consent.v1.ScopeBreachRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ScopeBreachResponse>) responseObserver);
          break;
        case METHODID_LIST_BREACH_SUBJECTS:
          serviceImpl.listBreachSubjects((consentd.client.consent.v1.ListBreachSubjectsRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListBreachSubjectsResponse>) responseObserver);
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

  private static abstract class AuditServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    AuditServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return consentd.client.consent.v1.Audit.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("AuditService");
    }
  }

  private static final class AuditServiceFileDescriptorSupplier
      extends AuditServiceBaseDescriptorSupplier {
    AuditServiceFileDescriptorSupplier() {}
  }

  private static final class AuditServiceMethodDescriptorSupplier
      extends AuditServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    AuditServiceMethodDescriptorSupplier(String methodName) {
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
      synchronized (AuditServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new AuditServiceFileDescriptorSupplier())
              .addMethod(getVerifyAuditChainMethod())
              .addMethod(getCreateAuditCheckpointMethod())
              .addMethod(getListAuditCheckpointsMethod())
              .addMethod(getGetAuditTreeHeadMethod())
              .addMethod(getProveAuditInclusionMethod())
              .addMethod(getProveAuditConsistencyMethod())
              .addMethod(getScopeBreachMethod())
              .addMethod(getListBreachSubjectsMethod())
              .build();
        }
      }
    }
    return result;
  }
}
