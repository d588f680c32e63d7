package consentd.client.consent.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * CookieService records the cookie choices web visitors make in a banner and tells a page whether
 * the stored choice still holds or it must ask again.
 * Browsers reach it over the Connect protocol (JSON or binary) and gRPC-Web on the HTTP port, with
 * the same rules as native gRPC. The server decides every expiry: an acceptance counts at most 12
 * calendar months, a refusal the tenant's refusal period (6 months unless configured, never more
 * than 12), and a choice made on an older policy revision must be asked again.
 * Every call carries `authorization: Bearer &lt;API key&gt;`. A web page's key is public (it is in the
 * page's JavaScript), so it has scope `cookies:write` and nothing else: it records and reads a
 * visitor's choice by the visitor's own random id, and never names a person. It also reads what
 * a banner shows anyone (the cookie policy; on the gRPC port the catalogue's purposes and notice
 * texts). Linking a visitor to a subject, listing a subject's choices and changing the policy
 * are for keys kept on servers.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: consent/v1/cookies.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class CookieServiceGrpc {

  private CookieServiceGrpc() {}

  public static final String SERVICE_NAME = "consent.v1.CookieService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.RecordCookieChoiceRequest,
      consentd.client.consent.v1.RecordCookieChoiceResponse> getRecordCookieChoiceMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RecordCookieChoice",
      requestType = consentd.client.consent.v1.RecordCookieChoiceRequest.class,
      responseType = consentd.client.consent.v1.RecordCookieChoiceResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.RecordCookieChoiceRequest,
      consentd.client.consent.v1.RecordCookieChoiceResponse> getRecordCookieChoiceMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.RecordCookieChoiceRequest, consentd.client.consent.v1.RecordCookieChoiceResponse> getRecordCookieChoiceMethod;
    if ((getRecordCookieChoiceMethod = CookieServiceGrpc.getRecordCookieChoiceMethod) == null) {
      synchronized (CookieServiceGrpc.class) {
        if ((getRecordCookieChoiceMethod = CookieServiceGrpc.getRecordCookieChoiceMethod) == null) {
          CookieServiceGrpc.getRecordCookieChoiceMethod = getRecordCookieChoiceMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.RecordCookieChoiceRequest, consentd.client.consent.v1.RecordCookieChoiceResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RecordCookieChoice"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RecordCookieChoiceRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RecordCookieChoiceResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CookieServiceMethodDescriptorSupplier("RecordCookieChoice"))
              .build();
        }
      }
    }
    return getRecordCookieChoiceMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.GetCookieChoiceRequest,
      consentd.client.consent.v1.GetCookieChoiceResponse> getGetCookieChoiceMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetCookieChoice",
      requestType = consentd.client.consent.v1.GetCookieChoiceRequest.class,
      responseType = consentd.client.consent.v1.GetCookieChoiceResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.GetCookieChoiceRequest,
      consentd.client.consent.v1.GetCookieChoiceResponse> getGetCookieChoiceMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.GetCookieChoiceRequest, consentd.client.consent.v1.GetCookieChoiceResponse> getGetCookieChoiceMethod;
    if ((getGetCookieChoiceMethod = CookieServiceGrpc.getGetCookieChoiceMethod) == null) {
      synchronized (CookieServiceGrpc.class) {
        if ((getGetCookieChoiceMethod = CookieServiceGrpc.getGetCookieChoiceMethod) == null) {
          CookieServiceGrpc.getGetCookieChoiceMethod = getGetCookieChoiceMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.GetCookieChoiceRequest, consentd.client.consent.v1.GetCookieChoiceResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetCookieChoice"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetCookieChoiceRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetCookieChoiceResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CookieServiceMethodDescriptorSupplier("GetCookieChoice"))
              .build();
        }
      }
    }
    return getGetCookieChoiceMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ListCookieChoicesRequest,
      consentd.client.consent.v1.ListCookieChoicesResponse> getListCookieChoicesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListCookieChoices",
      requestType = consentd.client.consent.v1.ListCookieChoicesRequest.class,
      responseType = consentd.client.consent.v1.ListCookieChoicesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ListCookieChoicesRequest,
      consentd.client.consent.v1.ListCookieChoicesResponse> getListCookieChoicesMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ListCookieChoicesRequest, consentd.client.consent.v1.ListCookieChoicesResponse> getListCookieChoicesMethod;
    if ((getListCookieChoicesMethod = CookieServiceGrpc.getListCookieChoicesMethod) == null) {
      synchronized (CookieServiceGrpc.class) {
        if ((getListCookieChoicesMethod = CookieServiceGrpc.getListCookieChoicesMethod) == null) {
          CookieServiceGrpc.getListCookieChoicesMethod = getListCookieChoicesMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ListCookieChoicesRequest, consentd.client.consent.v1.ListCookieChoicesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListCookieChoices"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListCookieChoicesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListCookieChoicesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CookieServiceMethodDescriptorSupplier("ListCookieChoices"))
              .build();
        }
      }
    }
    return getListCookieChoicesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.LinkVisitorRequest,
      consentd.client.consent.v1.LinkVisitorResponse> getLinkVisitorMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "LinkVisitor",
      requestType = consentd.client.consent.v1.LinkVisitorRequest.class,
      responseType = consentd.client.consent.v1.LinkVisitorResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.LinkVisitorRequest,
      consentd.client.consent.v1.LinkVisitorResponse> getLinkVisitorMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.LinkVisitorRequest, consentd.client.consent.v1.LinkVisitorResponse> getLinkVisitorMethod;
    if ((getLinkVisitorMethod = CookieServiceGrpc.getLinkVisitorMethod) == null) {
      synchronized (CookieServiceGrpc.class) {
        if ((getLinkVisitorMethod = CookieServiceGrpc.getLinkVisitorMethod) == null) {
          CookieServiceGrpc.getLinkVisitorMethod = getLinkVisitorMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.LinkVisitorRequest, consentd.client.consent.v1.LinkVisitorResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "LinkVisitor"))
              .setIdempotent(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.LinkVisitorRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.LinkVisitorResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CookieServiceMethodDescriptorSupplier("LinkVisitor"))
              .build();
        }
      }
    }
    return getLinkVisitorMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.PutCookiePolicyRequest,
      consentd.client.consent.v1.PutCookiePolicyResponse> getPutCookiePolicyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "PutCookiePolicy",
      requestType = consentd.client.consent.v1.PutCookiePolicyRequest.class,
      responseType = consentd.client.consent.v1.PutCookiePolicyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.PutCookiePolicyRequest,
      consentd.client.consent.v1.PutCookiePolicyResponse> getPutCookiePolicyMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.PutCookiePolicyRequest, consentd.client.consent.v1.PutCookiePolicyResponse> getPutCookiePolicyMethod;
    if ((getPutCookiePolicyMethod = CookieServiceGrpc.getPutCookiePolicyMethod) == null) {
      synchronized (CookieServiceGrpc.class) {
        if ((getPutCookiePolicyMethod = CookieServiceGrpc.getPutCookiePolicyMethod) == null) {
          CookieServiceGrpc.getPutCookiePolicyMethod = getPutCookiePolicyMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.PutCookiePolicyRequest, consentd.client.consent.v1.PutCookiePolicyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "PutCookiePolicy"))
              .setIdempotent(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.PutCookiePolicyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.PutCookiePolicyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CookieServiceMethodDescriptorSupplier("PutCookiePolicy"))
              .build();
        }
      }
    }
    return getPutCookiePolicyMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.GetCookiePolicyRequest,
      consentd.client.consent.v1.GetCookiePolicyResponse> getGetCookiePolicyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetCookiePolicy",
      requestType = consentd.client.consent.v1.GetCookiePolicyRequest.class,
      responseType = consentd.client.consent.v1.GetCookiePolicyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.GetCookiePolicyRequest,
      consentd.client.consent.v1.GetCookiePolicyResponse> getGetCookiePolicyMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.GetCookiePolicyRequest, consentd.client.consent.v1.GetCookiePolicyResponse> getGetCookiePolicyMethod;
    if ((getGetCookiePolicyMethod = CookieServiceGrpc.getGetCookiePolicyMethod) == null) {
      synchronized (CookieServiceGrpc.class) {
        if ((getGetCookiePolicyMethod = CookieServiceGrpc.getGetCookiePolicyMethod) == null) {
          CookieServiceGrpc.getGetCookiePolicyMethod = getGetCookiePolicyMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.GetCookiePolicyRequest, consentd.client.consent.v1.GetCookiePolicyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetCookiePolicy"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetCookiePolicyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetCookiePolicyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CookieServiceMethodDescriptorSupplier("GetCookiePolicy"))
              .build();
        }
      }
    }
    return getGetCookiePolicyMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static CookieServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CookieServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CookieServiceStub>() {
        @java.lang.Override
        public CookieServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CookieServiceStub(channel, callOptions);
        }
      };
    return CookieServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static CookieServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CookieServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CookieServiceBlockingStub>() {
        @java.lang.Override
        public CookieServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CookieServiceBlockingStub(channel, callOptions);
        }
      };
    return CookieServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static CookieServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CookieServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CookieServiceFutureStub>() {
        @java.lang.Override
        public CookieServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CookieServiceFutureStub(channel, callOptions);
        }
      };
    return CookieServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * CookieService records the cookie choices web visitors make in a banner and tells a page whether
   * the stored choice still holds or it must ask again.
   * Browsers reach it over the Connect protocol (JSON or binary) and gRPC-Web on the HTTP port, with
   * the same rules as native gRPC. The server decides every expiry: an acceptance counts at most 12
   * calendar months, a refusal the tenant's refusal period (6 months unless configured, never more
   * than 12), and a choice made on an older policy revision must be asked again.
   * Every call carries `authorization: Bearer &lt;API key&gt;`. A web page's key is public (it is in the
   * page's JavaScript), so it has scope `cookies:write` and nothing else: it records and reads a
   * visitor's choice by the visitor's own random id, and never names a person. It also reads what
   * a banner shows anyone (the cookie policy; on the gRPC port the catalogue's purposes and notice
   * texts). Linking a visitor to a subject, listing a subject's choices and changing the policy
   * are for keys kept on servers.
   * </pre>
   */
  public static abstract class CookieServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * RecordCookieChoice stores a visitor's choice and returns it with its expiry and the Google
     * Consent Mode signals to apply. Nothing is stored when any field is invalid.
     * Scopes: cookies:write, consent:write, admin; `subject` needs consent:write or admin.
     * </pre>
     */
    public void recordCookieChoice(consentd.client.consent.v1.RecordCookieChoiceRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RecordCookieChoiceResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRecordCookieChoiceMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetCookieChoice tells the page what to do: NONE, EXPIRED or REVISION_OUTDATED mean "show the
     * banner"; VALID comes with the stored categories, their Consent Mode signals and the expiry.
     * Scopes: cookies:write, consent:check, consent:write, admin.
     * </pre>
     */
    public void getCookieChoice(consentd.client.consent.v1.GetCookieChoiceRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetCookieChoiceResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetCookieChoiceMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListCookieChoices lists the choices of one visitor, or of every visitor linked to a subject,
     * newest first, a page at a time. Choices past their expiry are kept until the purge deletes
     * them (`consentd purge`).
     * Scopes: consent:write, admin (a subject's history is personal data: not for page keys).
     * </pre>
     */
    public void listCookieChoices(consentd.client.consent.v1.ListCookieChoicesRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListCookieChoicesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListCookieChoicesMethod(), responseObserver);
    }

    /**
     * <pre>
     * LinkVisitor links a visitor to a subject (for example when the visitor logs in): the
     * visitor's earlier choices that had no subject, and its later ones, are attributed to it.
     * Linked again to another subject (another person logs in on the same browser), the
     * visitor's later choices are theirs; the choices already attributed stay with whom they are.
     * Scopes: consent:write, admin: the site's server calls it once the person has logged in (a
     * page key could attribute anyone's visits to any email).
     * </pre>
     */
    public void linkVisitor(consentd.client.consent.v1.LinkVisitorRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.LinkVisitorResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getLinkVisitorMethod(), responseObserver);
    }

    /**
     * <pre>
     * PutCookiePolicy replaces the tenant's cookie policy: categories, policy revision, refusal
     * period, Consent Mode mapping and the browser origins allowed to call. Raising the revision
     * makes every earlier choice REVISION_OUTDATED.
     * Scopes: admin.
     * </pre>
     */
    public void putCookiePolicy(consentd.client.consent.v1.PutCookiePolicyRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.PutCookiePolicyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getPutCookiePolicyMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetCookiePolicy returns the tenant's cookie policy (the defaults until one is put).
     * Scopes: any.
     * </pre>
     */
    public void getCookiePolicy(consentd.client.consent.v1.GetCookiePolicyRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetCookiePolicyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetCookiePolicyMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getRecordCookieChoiceMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.RecordCookieChoiceRequest,
                consentd.client.consent.v1.RecordCookieChoiceResponse>(
                  this, METHODID_RECORD_COOKIE_CHOICE)))
          .addMethod(
            getGetCookieChoiceMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.GetCookieChoiceRequest,
                consentd.client.consent.v1.GetCookieChoiceResponse>(
                  this, METHODID_GET_COOKIE_CHOICE)))
          .addMethod(
            getListCookieChoicesMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ListCookieChoicesRequest,
                consentd.client.consent.v1.ListCookieChoicesResponse>(
                  this, METHODID_LIST_COOKIE_CHOICES)))
          .addMethod(
            getLinkVisitorMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.LinkVisitorRequest,
                consentd.client.consent.v1.LinkVisitorResponse>(
                  this, METHODID_LINK_VISITOR)))
          .addMethod(
            getPutCookiePolicyMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.PutCookiePolicyRequest,
                consentd.client.consent.v1.PutCookiePolicyResponse>(
                  this, METHODID_PUT_COOKIE_POLICY)))
          .addMethod(
            getGetCookiePolicyMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.GetCookiePolicyRequest,
                consentd.client.consent.v1.GetCookiePolicyResponse>(
                  this, METHODID_GET_COOKIE_POLICY)))
          .build();
    }
  }

  /**
   * <pre>
   * CookieService records the cookie choices web visitors make in a banner and tells a page whether
   * the stored choice still holds or it must ask again.
   * Browsers reach it over the Connect protocol (JSON or binary) and gRPC-Web on the HTTP port, with
   * the same rules as native gRPC. The server decides every expiry: an acceptance counts at most 12
   * calendar months, a refusal the tenant's refusal period (6 months unless configured, never more
   * than 12), and a choice made on an older policy revision must be asked again.
   * Every call carries `authorization: Bearer &lt;API key&gt;`. A web page's key is public (it is in the
   * page's JavaScript), so it has scope `cookies:write` and nothing else: it records and reads a
   * visitor's choice by the visitor's own random id, and never names a person. It also reads what
   * a banner shows anyone (the cookie policy; on the gRPC port the catalogue's purposes and notice
   * texts). Linking a visitor to a subject, listing a subject's choices and changing the policy
   * are for keys kept on servers.
   * </pre>
   */
  public static final class CookieServiceStub extends io.grpc.stub.AbstractAsyncStub<CookieServiceStub> {
    private CookieServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CookieServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CookieServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * RecordCookieChoice stores a visitor's choice and returns it with its expiry and the Google
     * Consent Mode signals to apply. Nothing is stored when any field is invalid.
     * Scopes: cookies:write, consent:write, admin; `subject` needs consent:write or admin.
     * </pre>
     */
    public void recordCookieChoice(consentd.client.consent.v1.RecordCookieChoiceRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RecordCookieChoiceResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRecordCookieChoiceMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetCookieChoice tells the page what to do: NONE, EXPIRED or REVISION_OUTDATED mean "show the
     * banner"; VALID comes with the stored categories, their Consent Mode signals and the expiry.
     * Scopes: cookies:write, consent:check, consent:write, admin.
     * </pre>
     */
    public void getCookieChoice(consentd.client.consent.v1.GetCookieChoiceRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetCookieChoiceResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetCookieChoiceMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListCookieChoices lists the choices of one visitor, or of every visitor linked to a subject,
     * newest first, a page at a time. Choices past their expiry are kept until the purge deletes
     * them (`consentd purge`).
     * Scopes: consent:write, admin (a subject's history is personal data: not for page keys).
     * </pre>
     */
    public void listCookieChoices(consentd.client.consent.v1.ListCookieChoicesRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListCookieChoicesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListCookieChoicesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * LinkVisitor links a visitor to a subject (for example when the visitor logs in): the
     * visitor's earlier choices that had no subject, and its later ones, are attributed to it.
     * Linked again to another subject (another person logs in on the same browser), the
     * visitor's later choices are theirs; the choices already attributed stay with whom they are.
     * Scopes: consent:write, admin: the site's server calls it once the person has logged in (a
     * page key could attribute anyone's visits to any email).
     * </pre>
     */
    public void linkVisitor(consentd.client.consent.v1.LinkVisitorRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.LinkVisitorResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getLinkVisitorMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * PutCookiePolicy replaces the tenant's cookie policy: categories, policy revision, refusal
     * period, Consent Mode mapping and the browser origins allowed to call. Raising the revision
     * makes every earlier choice REVISION_OUTDATED.
     * Scopes: admin.
     * </pre>
     */
    public void putCookiePolicy(consentd.client.consent.v1.PutCookiePolicyRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.PutCookiePolicyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getPutCookiePolicyMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetCookiePolicy returns the tenant's cookie policy (the defaults until one is put).
     * Scopes: any.
     * </pre>
     */
    public void getCookiePolicy(consentd.client.consent.v1.GetCookiePolicyRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetCookiePolicyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetCookiePolicyMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * <pre>
   * CookieService records the cookie choices web visitors make in a banner and tells a page whether
   * the stored choice still holds or it must ask again.
   * Browsers reach it over the Connect protocol (JSON or binary) and gRPC-Web on the HTTP port, with
   * the same rules as native gRPC. The server decides every expiry: an acceptance counts at most 12
   * calendar months, a refusal the tenant's refusal period (6 months unless configured, never more
   * than 12), and a choice made on an older policy revision must be asked again.
   * Every call carries `authorization: Bearer &lt;API key&gt;`. A web page's key is public (it is in the
   * page's JavaScript), so it has scope `cookies:write` and nothing else: it records and reads a
   * visitor's choice by the visitor's own random id, and never names a person. It also reads what
   * a banner shows anyone (the cookie policy; on the gRPC port the catalogue's purposes and notice
   * texts). Linking a visitor to a subject, listing a subject's choices and changing the policy
   * are for keys kept on servers.
   * </pre>
   */
  public static final class CookieServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<CookieServiceBlockingStub> {
    private CookieServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CookieServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CookieServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * RecordCookieChoice stores a visitor's choice and returns it with its expiry and the Google
     * Consent Mode signals to apply. Nothing is stored when any field is invalid.
     * Scopes: cookies:write, consent:write, admin; `subject` needs consent:write or admin.
     * </pre>
     */
    public consentd.client.consent.v1.RecordCookieChoiceResponse recordCookieChoice(consentd.client.consent.v1.RecordCookieChoiceRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRecordCookieChoiceMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetCookieChoice tells the page what to do: NONE, EXPIRED or REVISION_OUTDATED mean "show the
     * banner"; VALID comes with the stored categories, their Consent Mode signals and the expiry.
     * Scopes: cookies:write, consent:check, consent:write, admin.
     * </pre>
     */
    public consentd.client.consent.v1.GetCookieChoiceResponse getCookieChoice(consentd.client.consent.v1.GetCookieChoiceRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetCookieChoiceMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListCookieChoices lists the choices of one visitor, or of every visitor linked to a subject,
     * newest first, a page at a time. Choices past their expiry are kept until the purge deletes
     * them (`consentd purge`).
     * Scopes: consent:write, admin (a subject's history is personal data: not for page keys).
     * </pre>
     */
    public consentd.client.consent.v1.ListCookieChoicesResponse listCookieChoices(consentd.client.consent.v1.ListCookieChoicesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListCookieChoicesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * LinkVisitor links a visitor to a subject (for example when the visitor logs in): the
     * visitor's earlier choices that had no subject, and its later ones, are attributed to it.
     * Linked again to another subject (another person logs in on the same browser), the
     * visitor's later choices are theirs; the choices already attributed stay with whom they are.
     * Scopes: consent:write, admin: the site's server calls it once the person has logged in (a
     * page key could attribute anyone's visits to any email).
     * </pre>
     */
    public consentd.client.consent.v1.LinkVisitorResponse linkVisitor(consentd.client.consent.v1.LinkVisitorRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getLinkVisitorMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * PutCookiePolicy replaces the tenant's cookie policy: categories, policy revision, refusal
     * period, Consent Mode mapping and the browser origins allowed to call. Raising the revision
     * makes every earlier choice REVISION_OUTDATED.
     * Scopes: admin.
     * </pre>
     */
    public consentd.client.consent.v1.PutCookiePolicyResponse putCookiePolicy(consentd.client.consent.v1.PutCookiePolicyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getPutCookiePolicyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetCookiePolicy returns the tenant's cookie policy (the defaults until one is put).
     * Scopes: any.
     * </pre>
     */
    public consentd.client.consent.v1.GetCookiePolicyResponse getCookiePolicy(consentd.client.consent.v1.GetCookiePolicyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetCookiePolicyMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * CookieService records the cookie choices web visitors make in a banner and tells a page whether
   * the stored choice still holds or it must ask again.
   * Browsers reach it over the Connect protocol (JSON or binary) and gRPC-Web on the HTTP port, with
   * the same rules as native gRPC. The server decides every expiry: an acceptance counts at most 12
   * calendar months, a refusal the tenant's refusal period (6 months unless configured, never more
   * than 12), and a choice made on an older policy revision must be asked again.
   * Every call carries `authorization: Bearer &lt;API key&gt;`. A web page's key is public (it is in the
   * page's JavaScript), so it has scope `cookies:write` and nothing else: it records and reads a
   * visitor's choice by the visitor's own random id, and never names a person. It also reads what
   * a banner shows anyone (the cookie policy; on the gRPC port the catalogue's purposes and notice
   * texts). Linking a visitor to a subject, listing a subject's choices and changing the policy
   * are for keys kept on servers.
   * </pre>
   */
  public static final class CookieServiceFutureStub extends io.grpc.stub.AbstractFutureStub<CookieServiceFutureStub> {
    private CookieServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CookieServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CookieServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * RecordCookieChoice stores a visitor's choice and returns it with its expiry and the Google
     * Consent Mode signals to apply. Nothing is stored when any field is invalid.
     * Scopes: cookies:write, consent:write, admin; `subject` needs consent:write or admin.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.RecordCookieChoiceResponse> recordCookieChoice(
        consentd.client.consent.v1.RecordCookieChoiceRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRecordCookieChoiceMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetCookieChoice tells the page what to do: NONE, EXPIRED or REVISION_OUTDATED mean "show the
     * banner"; VALID comes with the stored categories, their Consent Mode signals and the expiry.
     * Scopes: cookies:write, consent:check, consent:write, admin.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.GetCookieChoiceResponse> getCookieChoice(
        consentd.client.consent.v1.GetCookieChoiceRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetCookieChoiceMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListCookieChoices lists the choices of one visitor, or of every visitor linked to a subject,
     * newest first, a page at a time. Choices past their expiry are kept until the purge deletes
     * them (`consentd purge`).
     * Scopes: consent:write, admin (a subject's history is personal data: not for page keys).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ListCookieChoicesResponse> listCookieChoices(
        consentd.client.consent.v1.ListCookieChoicesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListCookieChoicesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * LinkVisitor links a visitor to a subject (for example when the visitor logs in): the
     * visitor's earlier choices that had no subject, and its later ones, are attributed to it.
     * Linked again to another subject (another person logs in on the same browser), the
     * visitor's later choices are theirs; the choices already attributed stay with whom they are.
     * Scopes: consent:write, admin: the site's server calls it once the person has logged in (a
     * page key could attribute anyone's visits to any email).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.LinkVisitorResponse> linkVisitor(
        consentd.client.consent.v1.LinkVisitorRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getLinkVisitorMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * PutCookiePolicy replaces the tenant's cookie policy: categories, policy revision, refusal
     * period, Consent Mode mapping and the browser origins allowed to call. Raising the revision
     * makes every earlier choice REVISION_OUTDATED.
     * Scopes: admin.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.PutCookiePolicyResponse> putCookiePolicy(
        consentd.client.consent.v1.PutCookiePolicyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getPutCookiePolicyMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetCookiePolicy returns the tenant's cookie policy (the defaults until one is put).
     * Scopes: any.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.GetCookiePolicyResponse> getCookiePolicy(
        consentd.client.consent.v1.GetCookiePolicyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetCookiePolicyMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_RECORD_COOKIE_CHOICE = 0;
  private static final int METHODID_GET_COOKIE_CHOICE = 1;
  private static final int METHODID_LIST_COOKIE_CHOICES = 2;
  private static final int METHODID_LINK_VISITOR = 3;
  private static final int METHODID_PUT_COOKIE_POLICY = 4;
  private static final int METHODID_GET_COOKIE_POLICY = 5;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final CookieServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(CookieServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_RECORD_COOKIE_CHOICE:
          serviceImpl.recordCookieChoice((consentd.client.consent.v1.RecordCookieChoiceRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.RecordCookieChoiceResponse>) responseObserver);
          break;
        case METHODID_GET_COOKIE_CHOICE:
          serviceImpl.getCookieChoice((consentd.client.consent.v1.GetCookieChoiceRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetCookieChoiceResponse>) responseObserver);
          break;
        case METHODID_LIST_COOKIE_CHOICES:
          serviceImpl.listCookieChoices((consentd.client.consent.v1.ListCookieChoicesRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListCookieChoicesResponse>) responseObserver);
          break;
        case METHODID_LINK_VISITOR:
          serviceImpl.linkVisitor((consentd.client.consent.v1.LinkVisitorRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.LinkVisitorResponse>) responseObserver);
          break;
        case METHODID_PUT_COOKIE_POLICY:
          serviceImpl.putCookiePolicy((consentd.client.consent.v1.PutCookiePolicyRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.PutCookiePolicyResponse>) responseObserver);
          break;
        case METHODID_GET_COOKIE_POLICY:
          serviceImpl.getCookiePolicy((consentd.client.consent.v1.GetCookiePolicyRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetCookiePolicyResponse>) responseObserver);
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

  private static abstract class CookieServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    CookieServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return consentd.client.consent.v1.Cookies.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("CookieService");
    }
  }

  private static final class CookieServiceFileDescriptorSupplier
      extends CookieServiceBaseDescriptorSupplier {
    CookieServiceFileDescriptorSupplier() {}
  }

  private static final class CookieServiceMethodDescriptorSupplier
      extends CookieServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    CookieServiceMethodDescriptorSupplier(String methodName) {
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
      synchronized (CookieServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new CookieServiceFileDescriptorSupplier())
              .addMethod(getRecordCookieChoiceMethod())
              .addMethod(getGetCookieChoiceMethod())
              .addMethod(getListCookieChoicesMethod())
              .addMethod(getLinkVisitorMethod())
              .addMethod(getPutCookiePolicyMethod())
              .addMethod(getGetCookiePolicyMethod())
              .build();
        }
      }
    }
    return result;
  }
}
