package consentd.client.consent.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * RightsService carries out the rights of the person (GDPR arts. 15-21): access and portability
 * (an export), rectification of contact points, erasure by crypto-shredding, restriction and
 * objection; and the rights requests that track them, with identity checks and deadlines.
 * The tenant comes from the caller's credentials. Every change is one transaction with its
 * audit entry.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: consent/v1/rights.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class RightsServiceGrpc {

  private RightsServiceGrpc() {}

  public static final String SERVICE_NAME = "consent.v1.RightsService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ExportSubjectRequest,
      consentd.client.consent.v1.ExportSubjectResponse> getExportSubjectMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ExportSubject",
      requestType = consentd.client.consent.v1.ExportSubjectRequest.class,
      responseType = consentd.client.consent.v1.ExportSubjectResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ExportSubjectRequest,
      consentd.client.consent.v1.ExportSubjectResponse> getExportSubjectMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ExportSubjectRequest, consentd.client.consent.v1.ExportSubjectResponse> getExportSubjectMethod;
    if ((getExportSubjectMethod = RightsServiceGrpc.getExportSubjectMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getExportSubjectMethod = RightsServiceGrpc.getExportSubjectMethod) == null) {
          RightsServiceGrpc.getExportSubjectMethod = getExportSubjectMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ExportSubjectRequest, consentd.client.consent.v1.ExportSubjectResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ExportSubject"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ExportSubjectRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ExportSubjectResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("ExportSubject"))
              .build();
        }
      }
    }
    return getExportSubjectMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.EraseSubjectRequest,
      consentd.client.consent.v1.EraseSubjectResponse> getEraseSubjectMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "EraseSubject",
      requestType = consentd.client.consent.v1.EraseSubjectRequest.class,
      responseType = consentd.client.consent.v1.EraseSubjectResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.EraseSubjectRequest,
      consentd.client.consent.v1.EraseSubjectResponse> getEraseSubjectMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.EraseSubjectRequest, consentd.client.consent.v1.EraseSubjectResponse> getEraseSubjectMethod;
    if ((getEraseSubjectMethod = RightsServiceGrpc.getEraseSubjectMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getEraseSubjectMethod = RightsServiceGrpc.getEraseSubjectMethod) == null) {
          RightsServiceGrpc.getEraseSubjectMethod = getEraseSubjectMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.EraseSubjectRequest, consentd.client.consent.v1.EraseSubjectResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "EraseSubject"))
              .setIdempotent(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.EraseSubjectRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.EraseSubjectResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("EraseSubject"))
              .build();
        }
      }
    }
    return getEraseSubjectMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.RestrictProcessingRequest,
      consentd.client.consent.v1.RestrictProcessingResponse> getRestrictProcessingMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RestrictProcessing",
      requestType = consentd.client.consent.v1.RestrictProcessingRequest.class,
      responseType = consentd.client.consent.v1.RestrictProcessingResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.RestrictProcessingRequest,
      consentd.client.consent.v1.RestrictProcessingResponse> getRestrictProcessingMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.RestrictProcessingRequest, consentd.client.consent.v1.RestrictProcessingResponse> getRestrictProcessingMethod;
    if ((getRestrictProcessingMethod = RightsServiceGrpc.getRestrictProcessingMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getRestrictProcessingMethod = RightsServiceGrpc.getRestrictProcessingMethod) == null) {
          RightsServiceGrpc.getRestrictProcessingMethod = getRestrictProcessingMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.RestrictProcessingRequest, consentd.client.consent.v1.RestrictProcessingResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RestrictProcessing"))
              .setIdempotent(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RestrictProcessingRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RestrictProcessingResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("RestrictProcessing"))
              .build();
        }
      }
    }
    return getRestrictProcessingMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.RecordObjectionRequest,
      consentd.client.consent.v1.RecordObjectionResponse> getRecordObjectionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RecordObjection",
      requestType = consentd.client.consent.v1.RecordObjectionRequest.class,
      responseType = consentd.client.consent.v1.RecordObjectionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.RecordObjectionRequest,
      consentd.client.consent.v1.RecordObjectionResponse> getRecordObjectionMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.RecordObjectionRequest, consentd.client.consent.v1.RecordObjectionResponse> getRecordObjectionMethod;
    if ((getRecordObjectionMethod = RightsServiceGrpc.getRecordObjectionMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getRecordObjectionMethod = RightsServiceGrpc.getRecordObjectionMethod) == null) {
          RightsServiceGrpc.getRecordObjectionMethod = getRecordObjectionMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.RecordObjectionRequest, consentd.client.consent.v1.RecordObjectionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RecordObjection"))
              .setIdempotent(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RecordObjectionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RecordObjectionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("RecordObjection"))
              .build();
        }
      }
    }
    return getRecordObjectionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.RectifyContactRequest,
      consentd.client.consent.v1.RectifyContactResponse> getRectifyContactMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RectifyContact",
      requestType = consentd.client.consent.v1.RectifyContactRequest.class,
      responseType = consentd.client.consent.v1.RectifyContactResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.RectifyContactRequest,
      consentd.client.consent.v1.RectifyContactResponse> getRectifyContactMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.RectifyContactRequest, consentd.client.consent.v1.RectifyContactResponse> getRectifyContactMethod;
    if ((getRectifyContactMethod = RightsServiceGrpc.getRectifyContactMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getRectifyContactMethod = RightsServiceGrpc.getRectifyContactMethod) == null) {
          RightsServiceGrpc.getRectifyContactMethod = getRectifyContactMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.RectifyContactRequest, consentd.client.consent.v1.RectifyContactResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RectifyContact"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RectifyContactRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RectifyContactResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("RectifyContact"))
              .build();
        }
      }
    }
    return getRectifyContactMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.SubmitRightsRequestRequest,
      consentd.client.consent.v1.SubmitRightsRequestResponse> getSubmitRightsRequestMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SubmitRightsRequest",
      requestType = consentd.client.consent.v1.SubmitRightsRequestRequest.class,
      responseType = consentd.client.consent.v1.SubmitRightsRequestResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.SubmitRightsRequestRequest,
      consentd.client.consent.v1.SubmitRightsRequestResponse> getSubmitRightsRequestMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.SubmitRightsRequestRequest, consentd.client.consent.v1.SubmitRightsRequestResponse> getSubmitRightsRequestMethod;
    if ((getSubmitRightsRequestMethod = RightsServiceGrpc.getSubmitRightsRequestMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getSubmitRightsRequestMethod = RightsServiceGrpc.getSubmitRightsRequestMethod) == null) {
          RightsServiceGrpc.getSubmitRightsRequestMethod = getSubmitRightsRequestMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.SubmitRightsRequestRequest, consentd.client.consent.v1.SubmitRightsRequestResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SubmitRightsRequest"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.SubmitRightsRequestRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.SubmitRightsRequestResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("SubmitRightsRequest"))
              .build();
        }
      }
    }
    return getSubmitRightsRequestMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ResendVerificationCodeRequest,
      consentd.client.consent.v1.ResendVerificationCodeResponse> getResendVerificationCodeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ResendVerificationCode",
      requestType = consentd.client.consent.v1.ResendVerificationCodeRequest.class,
      responseType = consentd.client.consent.v1.ResendVerificationCodeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ResendVerificationCodeRequest,
      consentd.client.consent.v1.ResendVerificationCodeResponse> getResendVerificationCodeMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ResendVerificationCodeRequest, consentd.client.consent.v1.ResendVerificationCodeResponse> getResendVerificationCodeMethod;
    if ((getResendVerificationCodeMethod = RightsServiceGrpc.getResendVerificationCodeMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getResendVerificationCodeMethod = RightsServiceGrpc.getResendVerificationCodeMethod) == null) {
          RightsServiceGrpc.getResendVerificationCodeMethod = getResendVerificationCodeMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ResendVerificationCodeRequest, consentd.client.consent.v1.ResendVerificationCodeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ResendVerificationCode"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ResendVerificationCodeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ResendVerificationCodeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("ResendVerificationCode"))
              .build();
        }
      }
    }
    return getResendVerificationCodeMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ConfirmIdentityRequest,
      consentd.client.consent.v1.ConfirmIdentityResponse> getConfirmIdentityMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ConfirmIdentity",
      requestType = consentd.client.consent.v1.ConfirmIdentityRequest.class,
      responseType = consentd.client.consent.v1.ConfirmIdentityResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ConfirmIdentityRequest,
      consentd.client.consent.v1.ConfirmIdentityResponse> getConfirmIdentityMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ConfirmIdentityRequest, consentd.client.consent.v1.ConfirmIdentityResponse> getConfirmIdentityMethod;
    if ((getConfirmIdentityMethod = RightsServiceGrpc.getConfirmIdentityMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getConfirmIdentityMethod = RightsServiceGrpc.getConfirmIdentityMethod) == null) {
          RightsServiceGrpc.getConfirmIdentityMethod = getConfirmIdentityMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ConfirmIdentityRequest, consentd.client.consent.v1.ConfirmIdentityResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ConfirmIdentity"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ConfirmIdentityRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ConfirmIdentityResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("ConfirmIdentity"))
              .build();
        }
      }
    }
    return getConfirmIdentityMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.StartRightsRequestRequest,
      consentd.client.consent.v1.StartRightsRequestResponse> getStartRightsRequestMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "StartRightsRequest",
      requestType = consentd.client.consent.v1.StartRightsRequestRequest.class,
      responseType = consentd.client.consent.v1.StartRightsRequestResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.StartRightsRequestRequest,
      consentd.client.consent.v1.StartRightsRequestResponse> getStartRightsRequestMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.StartRightsRequestRequest, consentd.client.consent.v1.StartRightsRequestResponse> getStartRightsRequestMethod;
    if ((getStartRightsRequestMethod = RightsServiceGrpc.getStartRightsRequestMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getStartRightsRequestMethod = RightsServiceGrpc.getStartRightsRequestMethod) == null) {
          RightsServiceGrpc.getStartRightsRequestMethod = getStartRightsRequestMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.StartRightsRequestRequest, consentd.client.consent.v1.StartRightsRequestResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "StartRightsRequest"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.StartRightsRequestRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.StartRightsRequestResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("StartRightsRequest"))
              .build();
        }
      }
    }
    return getStartRightsRequestMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ExtendRightsRequestRequest,
      consentd.client.consent.v1.ExtendRightsRequestResponse> getExtendRightsRequestMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ExtendRightsRequest",
      requestType = consentd.client.consent.v1.ExtendRightsRequestRequest.class,
      responseType = consentd.client.consent.v1.ExtendRightsRequestResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ExtendRightsRequestRequest,
      consentd.client.consent.v1.ExtendRightsRequestResponse> getExtendRightsRequestMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ExtendRightsRequestRequest, consentd.client.consent.v1.ExtendRightsRequestResponse> getExtendRightsRequestMethod;
    if ((getExtendRightsRequestMethod = RightsServiceGrpc.getExtendRightsRequestMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getExtendRightsRequestMethod = RightsServiceGrpc.getExtendRightsRequestMethod) == null) {
          RightsServiceGrpc.getExtendRightsRequestMethod = getExtendRightsRequestMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ExtendRightsRequestRequest, consentd.client.consent.v1.ExtendRightsRequestResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ExtendRightsRequest"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ExtendRightsRequestRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ExtendRightsRequestResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("ExtendRightsRequest"))
              .build();
        }
      }
    }
    return getExtendRightsRequestMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.CompleteRightsRequestRequest,
      consentd.client.consent.v1.CompleteRightsRequestResponse> getCompleteRightsRequestMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CompleteRightsRequest",
      requestType = consentd.client.consent.v1.CompleteRightsRequestRequest.class,
      responseType = consentd.client.consent.v1.CompleteRightsRequestResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.CompleteRightsRequestRequest,
      consentd.client.consent.v1.CompleteRightsRequestResponse> getCompleteRightsRequestMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.CompleteRightsRequestRequest, consentd.client.consent.v1.CompleteRightsRequestResponse> getCompleteRightsRequestMethod;
    if ((getCompleteRightsRequestMethod = RightsServiceGrpc.getCompleteRightsRequestMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getCompleteRightsRequestMethod = RightsServiceGrpc.getCompleteRightsRequestMethod) == null) {
          RightsServiceGrpc.getCompleteRightsRequestMethod = getCompleteRightsRequestMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.CompleteRightsRequestRequest, consentd.client.consent.v1.CompleteRightsRequestResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CompleteRightsRequest"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.CompleteRightsRequestRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.CompleteRightsRequestResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("CompleteRightsRequest"))
              .build();
        }
      }
    }
    return getCompleteRightsRequestMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.RefuseRightsRequestRequest,
      consentd.client.consent.v1.RefuseRightsRequestResponse> getRefuseRightsRequestMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RefuseRightsRequest",
      requestType = consentd.client.consent.v1.RefuseRightsRequestRequest.class,
      responseType = consentd.client.consent.v1.RefuseRightsRequestResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.RefuseRightsRequestRequest,
      consentd.client.consent.v1.RefuseRightsRequestResponse> getRefuseRightsRequestMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.RefuseRightsRequestRequest, consentd.client.consent.v1.RefuseRightsRequestResponse> getRefuseRightsRequestMethod;
    if ((getRefuseRightsRequestMethod = RightsServiceGrpc.getRefuseRightsRequestMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getRefuseRightsRequestMethod = RightsServiceGrpc.getRefuseRightsRequestMethod) == null) {
          RightsServiceGrpc.getRefuseRightsRequestMethod = getRefuseRightsRequestMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.RefuseRightsRequestRequest, consentd.client.consent.v1.RefuseRightsRequestResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RefuseRightsRequest"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RefuseRightsRequestRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RefuseRightsRequestResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("RefuseRightsRequest"))
              .build();
        }
      }
    }
    return getRefuseRightsRequestMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.RecordPersonToldRequest,
      consentd.client.consent.v1.RecordPersonToldResponse> getRecordPersonToldMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RecordPersonTold",
      requestType = consentd.client.consent.v1.RecordPersonToldRequest.class,
      responseType = consentd.client.consent.v1.RecordPersonToldResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.RecordPersonToldRequest,
      consentd.client.consent.v1.RecordPersonToldResponse> getRecordPersonToldMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.RecordPersonToldRequest, consentd.client.consent.v1.RecordPersonToldResponse> getRecordPersonToldMethod;
    if ((getRecordPersonToldMethod = RightsServiceGrpc.getRecordPersonToldMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getRecordPersonToldMethod = RightsServiceGrpc.getRecordPersonToldMethod) == null) {
          RightsServiceGrpc.getRecordPersonToldMethod = getRecordPersonToldMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.RecordPersonToldRequest, consentd.client.consent.v1.RecordPersonToldResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RecordPersonTold"))
              .setIdempotent(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RecordPersonToldRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.RecordPersonToldResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("RecordPersonTold"))
              .build();
        }
      }
    }
    return getRecordPersonToldMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.GetRightsRequestRequest,
      consentd.client.consent.v1.GetRightsRequestResponse> getGetRightsRequestMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetRightsRequest",
      requestType = consentd.client.consent.v1.GetRightsRequestRequest.class,
      responseType = consentd.client.consent.v1.GetRightsRequestResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.GetRightsRequestRequest,
      consentd.client.consent.v1.GetRightsRequestResponse> getGetRightsRequestMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.GetRightsRequestRequest, consentd.client.consent.v1.GetRightsRequestResponse> getGetRightsRequestMethod;
    if ((getGetRightsRequestMethod = RightsServiceGrpc.getGetRightsRequestMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getGetRightsRequestMethod = RightsServiceGrpc.getGetRightsRequestMethod) == null) {
          RightsServiceGrpc.getGetRightsRequestMethod = getGetRightsRequestMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.GetRightsRequestRequest, consentd.client.consent.v1.GetRightsRequestResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetRightsRequest"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetRightsRequestRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.GetRightsRequestResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("GetRightsRequest"))
              .build();
        }
      }
    }
    return getGetRightsRequestMethod;
  }

  private static volatile io.grpc.MethodDescriptor<consentd.client.consent.v1.ListRightsRequestsRequest,
      consentd.client.consent.v1.ListRightsRequestsResponse> getListRightsRequestsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListRightsRequests",
      requestType = consentd.client.consent.v1.ListRightsRequestsRequest.class,
      responseType = consentd.client.consent.v1.ListRightsRequestsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<consentd.client.consent.v1.ListRightsRequestsRequest,
      consentd.client.consent.v1.ListRightsRequestsResponse> getListRightsRequestsMethod() {
    io.grpc.MethodDescriptor<consentd.client.consent.v1.ListRightsRequestsRequest, consentd.client.consent.v1.ListRightsRequestsResponse> getListRightsRequestsMethod;
    if ((getListRightsRequestsMethod = RightsServiceGrpc.getListRightsRequestsMethod) == null) {
      synchronized (RightsServiceGrpc.class) {
        if ((getListRightsRequestsMethod = RightsServiceGrpc.getListRightsRequestsMethod) == null) {
          RightsServiceGrpc.getListRightsRequestsMethod = getListRightsRequestsMethod =
              io.grpc.MethodDescriptor.<consentd.client.consent.v1.ListRightsRequestsRequest, consentd.client.consent.v1.ListRightsRequestsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListRightsRequests"))
              .setSafe(true)
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListRightsRequestsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  consentd.client.consent.v1.ListRightsRequestsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new RightsServiceMethodDescriptorSupplier("ListRightsRequests"))
              .build();
        }
      }
    }
    return getListRightsRequestsMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static RightsServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<RightsServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<RightsServiceStub>() {
        @java.lang.Override
        public RightsServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new RightsServiceStub(channel, callOptions);
        }
      };
    return RightsServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static RightsServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<RightsServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<RightsServiceBlockingStub>() {
        @java.lang.Override
        public RightsServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new RightsServiceBlockingStub(channel, callOptions);
        }
      };
    return RightsServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static RightsServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<RightsServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<RightsServiceFutureStub>() {
        @java.lang.Override
        public RightsServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new RightsServiceFutureStub(channel, callOptions);
        }
      };
    return RightsServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * RightsService carries out the rights of the person (GDPR arts. 15-21): access and portability
   * (an export), rectification of contact points, erasure by crypto-shredding, restriction and
   * objection; and the rights requests that track them, with identity checks and deadlines.
   * The tenant comes from the caller's credentials. Every change is one transaction with its
   * audit entry.
   * </pre>
   */
  public static abstract class RightsServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * ExportSubject returns everything held about a subject as one JSON document (schema
     * `consentd.subject-export/1`, documented in docs/subject-export.md): identity, contact history,
     * current consents and full history (with the controller or processor role of each), blocks and
     * rights requests. Erased values are null.
     * </pre>
     */
    public void exportSubject(consentd.client.consent.v1.ExportSubjectRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ExportSubjectResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getExportSubjectMethod(), responseObserver);
    }

    /**
     * <pre>
     * EraseSubject destroys the subject's data key (every sealed personal field becomes
     * unreadable), unlinks its identifiers and keeps their keyed hashes as suppression entries: a
     * later check for the same email or phone is DENY `erased`. History stays, pseudonymous.
     * Idempotent: again by subject id it answers the same subject and erasure time (with zero
     * counts: this call suppressed and appended nothing); again by an email or phone
     * that was erased and nobody holds since, OK with when it was erased and no subject id (the
     * link from the contact point to the subject went with the erasure).
     * </pre>
     */
    public void eraseSubject(consentd.client.consent.v1.EraseSubjectRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.EraseSubjectResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getEraseSubjectMethod(), responseObserver);
    }

    /**
     * <pre>
     * RestrictProcessing puts a restriction in force (checks answer DENY `restricted`), or lifts it.
     * FAILED_PRECONDITION (`SUBJECT_ERASED`) for an erased subject, as for RecordObjection.
     * </pre>
     */
    public void restrictProcessing(consentd.client.consent.v1.RestrictProcessingRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RestrictProcessingResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRestrictProcessingMethod(), responseObserver);
    }

    /**
     * <pre>
     * RecordObjection records an objection to processing for marketing: checks answer DENY
     * `objected` unless the subject grants a target again afterwards. An email, phone or external
     * id nobody has recorded yet becomes a subject, so the objection is kept (NOT_FOUND only for an
     * unknown subject id).
     * </pre>
     */
    public void recordObjection(consentd.client.consent.v1.RecordObjectionRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RecordObjectionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRecordObjectionMethod(), responseObserver);
    }

    /**
     * <pre>
     * RectifyContact replaces the subject's contact points of one kind with a corrected value, or
     * takes them away (`remove`); the old values stay in the contact history (sealed, so erasure
     * removes them too).
     * </pre>
     */
    public void rectifyContact(consentd.client.consent.v1.RectifyContactRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RectifyContactResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRectifyContactMethod(), responseObserver);
    }

    /**
     * <pre>
     * SubmitRightsRequest records a request (state RECEIVED) and, when asked, sends a one-time code
     * to the subject's own email or phone through the configured notifier. An email, phone or
     * external id nobody has recorded becomes a subject, so the request is kept and answered
     * (even "we hold nothing") within the month; NOT_FOUND only for an unknown subject id. Filed
     * with a portal token (subject:self), it is verified by that token at once (IDENTITY_VERIFIED,
     * verification_method `portal_token`) and no code is sent.
     * </pre>
     */
    public void submitRightsRequest(consentd.client.consent.v1.SubmitRightsRequestRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.SubmitRightsRequestResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSubmitRightsRequestMethod(), responseObserver);
    }

    /**
     * <pre>
     * ResendVerificationCode sends a new code; the previous one stops working. The wrong tries
     * stay counted (five per request in all): once spent, FAILED_PRECONDITION and no code is sent.
     * </pre>
     */
    public void resendVerificationCode(consentd.client.consent.v1.ResendVerificationCodeRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ResendVerificationCodeResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getResendVerificationCodeMethod(), responseObserver);
    }

    /**
     * <pre>
     * ConfirmIdentity checks the one-time code (24 hours; five wrong tries per request, whatever
     * codes were sent; then only an operator's attestation) or records an operator's
     * attestation. The request becomes IDENTITY_VERIFIED and is due one calendar month later.
     * </pre>
     */
    public void confirmIdentity(consentd.client.consent.v1.ConfirmIdentityRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ConfirmIdentityResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getConfirmIdentityMethod(), responseObserver);
    }

    /**
     * <pre>
     * StartRightsRequest moves a verified request to IN_PROGRESS.
     * </pre>
     */
    public void startRightsRequest(consentd.client.consent.v1.StartRightsRequestRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.StartRightsRequestResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getStartRightsRequestMethod(), responseObserver);
    }

    /**
     * <pre>
     * ExtendRightsRequest extends the deadline once, by one or two months, with a reason, before the
     * first due date, while the request is open (its identity may still be being verified: the
     * deadline runs from receipt). The person is told by e-mail, with the reason.
     * </pre>
     */
    public void extendRightsRequest(consentd.client.consent.v1.ExtendRightsRequestRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ExtendRightsRequestResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getExtendRightsRequestMethod(), responseObserver);
    }

    /**
     * <pre>
     * CompleteRightsRequest marks an in-progress request DONE; erase, restrict and object requests are
     * carried out in the same transaction. An access or portability request is done only once the
     * subject was exported (ExportSubject) after it was received: FAILED_PRECONDITION
     * `NOT_EXPORTED` before; its audit entry names that export's digest.
     * </pre>
     */
    public void completeRightsRequest(consentd.client.consent.v1.CompleteRightsRequestRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.CompleteRightsRequestResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCompleteRightsRequestMethod(), responseObserver);
    }

    /**
     * <pre>
     * RefuseRightsRequest closes a request as REFUSED, with the reason told to the person by
     * e-mail, with their right to complain to the supervisory authority.
     * </pre>
     */
    public void refuseRightsRequest(consentd.client.consent.v1.RefuseRightsRequestRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RefuseRightsRequestResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRefuseRightsRequestMethod(), responseObserver);
    }

    /**
     * <pre>
     * RecordPersonTold records that the operator told the person of the request's extension or
     * refusal, and why, themselves (a call, a letter): `person_told_at` becomes now (an extension
     * counts once the person is told within the first month; until then the first due date
     * stands). A request whose person was told already answers as it is; FAILED_PRECONDITION for
     * a request neither extended nor refused.
     * </pre>
     */
    public void recordPersonTold(consentd.client.consent.v1.RecordPersonToldRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RecordPersonToldResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRecordPersonToldMethod(), responseObserver);
    }

    /**
     */
    public void getRightsRequest(consentd.client.consent.v1.GetRightsRequestRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetRightsRequestResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetRightsRequestMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListRightsRequests lists requests, or only the open ones past their due date.
     * </pre>
     */
    public void listRightsRequests(consentd.client.consent.v1.ListRightsRequestsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListRightsRequestsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListRightsRequestsMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getExportSubjectMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ExportSubjectRequest,
                consentd.client.consent.v1.ExportSubjectResponse>(
                  this, METHODID_EXPORT_SUBJECT)))
          .addMethod(
            getEraseSubjectMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.EraseSubjectRequest,
                consentd.client.consent.v1.EraseSubjectResponse>(
                  this, METHODID_ERASE_SUBJECT)))
          .addMethod(
            getRestrictProcessingMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.RestrictProcessingRequest,
                consentd.client.consent.v1.RestrictProcessingResponse>(
                  this, METHODID_RESTRICT_PROCESSING)))
          .addMethod(
            getRecordObjectionMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.RecordObjectionRequest,
                consentd.client.consent.v1.RecordObjectionResponse>(
                  this, METHODID_RECORD_OBJECTION)))
          .addMethod(
            getRectifyContactMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.RectifyContactRequest,
                consentd.client.consent.v1.RectifyContactResponse>(
                  this, METHODID_RECTIFY_CONTACT)))
          .addMethod(
            getSubmitRightsRequestMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.SubmitRightsRequestRequest,
                consentd.client.consent.v1.SubmitRightsRequestResponse>(
                  this, METHODID_SUBMIT_RIGHTS_REQUEST)))
          .addMethod(
            getResendVerificationCodeMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ResendVerificationCodeRequest,
                consentd.client.consent.v1.ResendVerificationCodeResponse>(
                  this, METHODID_RESEND_VERIFICATION_CODE)))
          .addMethod(
            getConfirmIdentityMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ConfirmIdentityRequest,
                consentd.client.consent.v1.ConfirmIdentityResponse>(
                  this, METHODID_CONFIRM_IDENTITY)))
          .addMethod(
            getStartRightsRequestMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.StartRightsRequestRequest,
                consentd.client.consent.v1.StartRightsRequestResponse>(
                  this, METHODID_START_RIGHTS_REQUEST)))
          .addMethod(
            getExtendRightsRequestMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ExtendRightsRequestRequest,
                consentd.client.consent.v1.ExtendRightsRequestResponse>(
                  this, METHODID_EXTEND_RIGHTS_REQUEST)))
          .addMethod(
            getCompleteRightsRequestMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.CompleteRightsRequestRequest,
                consentd.client.consent.v1.CompleteRightsRequestResponse>(
                  this, METHODID_COMPLETE_RIGHTS_REQUEST)))
          .addMethod(
            getRefuseRightsRequestMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.RefuseRightsRequestRequest,
                consentd.client.consent.v1.RefuseRightsRequestResponse>(
                  this, METHODID_REFUSE_RIGHTS_REQUEST)))
          .addMethod(
            getRecordPersonToldMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.RecordPersonToldRequest,
                consentd.client.consent.v1.RecordPersonToldResponse>(
                  this, METHODID_RECORD_PERSON_TOLD)))
          .addMethod(
            getGetRightsRequestMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.GetRightsRequestRequest,
                consentd.client.consent.v1.GetRightsRequestResponse>(
                  this, METHODID_GET_RIGHTS_REQUEST)))
          .addMethod(
            getListRightsRequestsMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                consentd.client.consent.v1.ListRightsRequestsRequest,
                consentd.client.consent.v1.ListRightsRequestsResponse>(
                  this, METHODID_LIST_RIGHTS_REQUESTS)))
          .build();
    }
  }

  /**
   * <pre>
   * RightsService carries out the rights of the person (GDPR arts. 15-21): access and portability
   * (an export), rectification of contact points, erasure by crypto-shredding, restriction and
   * objection; and the rights requests that track them, with identity checks and deadlines.
   * The tenant comes from the caller's credentials. Every change is one transaction with its
   * audit entry.
   * </pre>
   */
  public static final class RightsServiceStub extends io.grpc.stub.AbstractAsyncStub<RightsServiceStub> {
    private RightsServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected RightsServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new RightsServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * ExportSubject returns everything held about a subject as one JSON document (schema
     * `consentd.subject-export/1`, documented in docs/subject-export.md): identity, contact history,
     * current consents and full history (with the controller or processor role of each), blocks and
     * rights requests. Erased values are null.
     * </pre>
     */
    public void exportSubject(consentd.client.consent.v1.ExportSubjectRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ExportSubjectResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getExportSubjectMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * EraseSubject destroys the subject's data key (every sealed personal field becomes
     * unreadable), unlinks its identifiers and keeps their keyed hashes as suppression entries: a
     * later check for the same email or phone is DENY `erased`. History stays, pseudonymous.
     * Idempotent: again by subject id it answers the same subject and erasure time (with zero
     * counts: this call suppressed and appended nothing); again by an email or phone
     * that was erased and nobody holds since, OK with when it was erased and no subject id (the
     * link from the contact point to the subject went with the erasure).
     * </pre>
     */
    public void eraseSubject(consentd.client.consent.v1.EraseSubjectRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.EraseSubjectResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getEraseSubjectMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RestrictProcessing puts a restriction in force (checks answer DENY `restricted`), or lifts it.
     * FAILED_PRECONDITION (`SUBJECT_ERASED`) for an erased subject, as for RecordObjection.
     * </pre>
     */
    public void restrictProcessing(consentd.client.consent.v1.RestrictProcessingRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RestrictProcessingResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRestrictProcessingMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RecordObjection records an objection to processing for marketing: checks answer DENY
     * `objected` unless the subject grants a target again afterwards. An email, phone or external
     * id nobody has recorded yet becomes a subject, so the objection is kept (NOT_FOUND only for an
     * unknown subject id).
     * </pre>
     */
    public void recordObjection(consentd.client.consent.v1.RecordObjectionRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RecordObjectionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRecordObjectionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RectifyContact replaces the subject's contact points of one kind with a corrected value, or
     * takes them away (`remove`); the old values stay in the contact history (sealed, so erasure
     * removes them too).
     * </pre>
     */
    public void rectifyContact(consentd.client.consent.v1.RectifyContactRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RectifyContactResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRectifyContactMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * SubmitRightsRequest records a request (state RECEIVED) and, when asked, sends a one-time code
     * to the subject's own email or phone through the configured notifier. An email, phone or
     * external id nobody has recorded becomes a subject, so the request is kept and answered
     * (even "we hold nothing") within the month; NOT_FOUND only for an unknown subject id. Filed
     * with a portal token (subject:self), it is verified by that token at once (IDENTITY_VERIFIED,
     * verification_method `portal_token`) and no code is sent.
     * </pre>
     */
    public void submitRightsRequest(consentd.client.consent.v1.SubmitRightsRequestRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.SubmitRightsRequestResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSubmitRightsRequestMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ResendVerificationCode sends a new code; the previous one stops working. The wrong tries
     * stay counted (five per request in all): once spent, FAILED_PRECONDITION and no code is sent.
     * </pre>
     */
    public void resendVerificationCode(consentd.client.consent.v1.ResendVerificationCodeRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ResendVerificationCodeResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getResendVerificationCodeMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ConfirmIdentity checks the one-time code (24 hours; five wrong tries per request, whatever
     * codes were sent; then only an operator's attestation) or records an operator's
     * attestation. The request becomes IDENTITY_VERIFIED and is due one calendar month later.
     * </pre>
     */
    public void confirmIdentity(consentd.client.consent.v1.ConfirmIdentityRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ConfirmIdentityResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getConfirmIdentityMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * StartRightsRequest moves a verified request to IN_PROGRESS.
     * </pre>
     */
    public void startRightsRequest(consentd.client.consent.v1.StartRightsRequestRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.StartRightsRequestResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getStartRightsRequestMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ExtendRightsRequest extends the deadline once, by one or two months, with a reason, before the
     * first due date, while the request is open (its identity may still be being verified: the
     * deadline runs from receipt). The person is told by e-mail, with the reason.
     * </pre>
     */
    public void extendRightsRequest(consentd.client.consent.v1.ExtendRightsRequestRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ExtendRightsRequestResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getExtendRightsRequestMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * CompleteRightsRequest marks an in-progress request DONE; erase, restrict and object requests are
     * carried out in the same transaction. An access or portability request is done only once the
     * subject was exported (ExportSubject) after it was received: FAILED_PRECONDITION
     * `NOT_EXPORTED` before; its audit entry names that export's digest.
     * </pre>
     */
    public void completeRightsRequest(consentd.client.consent.v1.CompleteRightsRequestRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.CompleteRightsRequestResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCompleteRightsRequestMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RefuseRightsRequest closes a request as REFUSED, with the reason told to the person by
     * e-mail, with their right to complain to the supervisory authority.
     * </pre>
     */
    public void refuseRightsRequest(consentd.client.consent.v1.RefuseRightsRequestRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RefuseRightsRequestResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRefuseRightsRequestMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RecordPersonTold records that the operator told the person of the request's extension or
     * refusal, and why, themselves (a call, a letter): `person_told_at` becomes now (an extension
     * counts once the person is told within the first month; until then the first due date
     * stands). A request whose person was told already answers as it is; FAILED_PRECONDITION for
     * a request neither extended nor refused.
     * </pre>
     */
    public void recordPersonTold(consentd.client.consent.v1.RecordPersonToldRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.RecordPersonToldResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRecordPersonToldMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     */
    public void getRightsRequest(consentd.client.consent.v1.GetRightsRequestRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetRightsRequestResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetRightsRequestMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListRightsRequests lists requests, or only the open ones past their due date.
     * </pre>
     */
    public void listRightsRequests(consentd.client.consent.v1.ListRightsRequestsRequest request,
        io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListRightsRequestsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListRightsRequestsMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * <pre>
   * RightsService carries out the rights of the person (GDPR arts. 15-21): access and portability
   * (an export), rectification of contact points, erasure by crypto-shredding, restriction and
   * objection; and the rights requests that track them, with identity checks and deadlines.
   * The tenant comes from the caller's credentials. Every change is one transaction with its
   * audit entry.
   * </pre>
   */
  public static final class RightsServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<RightsServiceBlockingStub> {
    private RightsServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected RightsServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new RightsServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * ExportSubject returns everything held about a subject as one JSON document (schema
     * `consentd.subject-export/1`, documented in docs/subject-export.md): identity, contact history,
     * current consents and full history (with the controller or processor role of each), blocks and
     * rights requests. Erased values are null.
     * </pre>
     */
    public consentd.client.consent.v1.ExportSubjectResponse exportSubject(consentd.client.consent.v1.ExportSubjectRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getExportSubjectMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * EraseSubject destroys the subject's data key (every sealed personal field becomes
     * unreadable), unlinks its identifiers and keeps their keyed hashes as suppression entries: a
     * later check for the same email or phone is DENY `erased`. History stays, pseudonymous.
     * Idempotent: again by subject id it answers the same subject and erasure time (with zero
     * counts: this call suppressed and appended nothing); again by an email or phone
     * that was erased and nobody holds since, OK with when it was erased and no subject id (the
     * link from the contact point to the subject went with the erasure).
     * </pre>
     */
    public consentd.client.consent.v1.EraseSubjectResponse eraseSubject(consentd.client.consent.v1.EraseSubjectRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getEraseSubjectMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RestrictProcessing puts a restriction in force (checks answer DENY `restricted`), or lifts it.
     * FAILED_PRECONDITION (`SUBJECT_ERASED`) for an erased subject, as for RecordObjection.
     * </pre>
     */
    public consentd.client.consent.v1.RestrictProcessingResponse restrictProcessing(consentd.client.consent.v1.RestrictProcessingRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRestrictProcessingMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RecordObjection records an objection to processing for marketing: checks answer DENY
     * `objected` unless the subject grants a target again afterwards. An email, phone or external
     * id nobody has recorded yet becomes a subject, so the objection is kept (NOT_FOUND only for an
     * unknown subject id).
     * </pre>
     */
    public consentd.client.consent.v1.RecordObjectionResponse recordObjection(consentd.client.consent.v1.RecordObjectionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRecordObjectionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RectifyContact replaces the subject's contact points of one kind with a corrected value, or
     * takes them away (`remove`); the old values stay in the contact history (sealed, so erasure
     * removes them too).
     * </pre>
     */
    public consentd.client.consent.v1.RectifyContactResponse rectifyContact(consentd.client.consent.v1.RectifyContactRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRectifyContactMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * SubmitRightsRequest records a request (state RECEIVED) and, when asked, sends a one-time code
     * to the subject's own email or phone through the configured notifier. An email, phone or
     * external id nobody has recorded becomes a subject, so the request is kept and answered
     * (even "we hold nothing") within the month; NOT_FOUND only for an unknown subject id. Filed
     * with a portal token (subject:self), it is verified by that token at once (IDENTITY_VERIFIED,
     * verification_method `portal_token`) and no code is sent.
     * </pre>
     */
    public consentd.client.consent.v1.SubmitRightsRequestResponse submitRightsRequest(consentd.client.consent.v1.SubmitRightsRequestRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSubmitRightsRequestMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ResendVerificationCode sends a new code; the previous one stops working. The wrong tries
     * stay counted (five per request in all): once spent, FAILED_PRECONDITION and no code is sent.
     * </pre>
     */
    public consentd.client.consent.v1.ResendVerificationCodeResponse resendVerificationCode(consentd.client.consent.v1.ResendVerificationCodeRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getResendVerificationCodeMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ConfirmIdentity checks the one-time code (24 hours; five wrong tries per request, whatever
     * codes were sent; then only an operator's attestation) or records an operator's
     * attestation. The request becomes IDENTITY_VERIFIED and is due one calendar month later.
     * </pre>
     */
    public consentd.client.consent.v1.ConfirmIdentityResponse confirmIdentity(consentd.client.consent.v1.ConfirmIdentityRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getConfirmIdentityMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * StartRightsRequest moves a verified request to IN_PROGRESS.
     * </pre>
     */
    public consentd.client.consent.v1.StartRightsRequestResponse startRightsRequest(consentd.client.consent.v1.StartRightsRequestRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getStartRightsRequestMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ExtendRightsRequest extends the deadline once, by one or two months, with a reason, before the
     * first due date, while the request is open (its identity may still be being verified: the
     * deadline runs from receipt). The person is told by e-mail, with the reason.
     * </pre>
     */
    public consentd.client.consent.v1.ExtendRightsRequestResponse extendRightsRequest(consentd.client.consent.v1.ExtendRightsRequestRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getExtendRightsRequestMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * CompleteRightsRequest marks an in-progress request DONE; erase, restrict and object requests are
     * carried out in the same transaction. An access or portability request is done only once the
     * subject was exported (ExportSubject) after it was received: FAILED_PRECONDITION
     * `NOT_EXPORTED` before; its audit entry names that export's digest.
     * </pre>
     */
    public consentd.client.consent.v1.CompleteRightsRequestResponse completeRightsRequest(consentd.client.consent.v1.CompleteRightsRequestRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCompleteRightsRequestMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RefuseRightsRequest closes a request as REFUSED, with the reason told to the person by
     * e-mail, with their right to complain to the supervisory authority.
     * </pre>
     */
    public consentd.client.consent.v1.RefuseRightsRequestResponse refuseRightsRequest(consentd.client.consent.v1.RefuseRightsRequestRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRefuseRightsRequestMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RecordPersonTold records that the operator told the person of the request's extension or
     * refusal, and why, themselves (a call, a letter): `person_told_at` becomes now (an extension
     * counts once the person is told within the first month; until then the first due date
     * stands). A request whose person was told already answers as it is; FAILED_PRECONDITION for
     * a request neither extended nor refused.
     * </pre>
     */
    public consentd.client.consent.v1.RecordPersonToldResponse recordPersonTold(consentd.client.consent.v1.RecordPersonToldRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRecordPersonToldMethod(), getCallOptions(), request);
    }

    /**
     */
    public consentd.client.consent.v1.GetRightsRequestResponse getRightsRequest(consentd.client.consent.v1.GetRightsRequestRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetRightsRequestMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListRightsRequests lists requests, or only the open ones past their due date.
     * </pre>
     */
    public consentd.client.consent.v1.ListRightsRequestsResponse listRightsRequests(consentd.client.consent.v1.ListRightsRequestsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListRightsRequestsMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * RightsService carries out the rights of the person (GDPR arts. 15-21): access and portability
   * (an export), rectification of contact points, erasure by crypto-shredding, restriction and
   * objection; and the rights requests that track them, with identity checks and deadlines.
   * The tenant comes from the caller's credentials. Every change is one transaction with its
   * audit entry.
   * </pre>
   */
  public static final class RightsServiceFutureStub extends io.grpc.stub.AbstractFutureStub<RightsServiceFutureStub> {
    private RightsServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected RightsServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new RightsServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * ExportSubject returns everything held about a subject as one JSON document (schema
     * `consentd.subject-export/1`, documented in docs/subject-export.md): identity, contact history,
     * current consents and full history (with the controller or processor role of each), blocks and
     * rights requests. Erased values are null.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ExportSubjectResponse> exportSubject(
        consentd.client.consent.v1.ExportSubjectRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getExportSubjectMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * EraseSubject destroys the subject's data key (every sealed personal field becomes
     * unreadable), unlinks its identifiers and keeps their keyed hashes as suppression entries: a
     * later check for the same email or phone is DENY `erased`. History stays, pseudonymous.
     * Idempotent: again by subject id it answers the same subject and erasure time (with zero
     * counts: this call suppressed and appended nothing); again by an email or phone
     * that was erased and nobody holds since, OK with when it was erased and no subject id (the
     * link from the contact point to the subject went with the erasure).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.EraseSubjectResponse> eraseSubject(
        consentd.client.consent.v1.EraseSubjectRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getEraseSubjectMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RestrictProcessing puts a restriction in force (checks answer DENY `restricted`), or lifts it.
     * FAILED_PRECONDITION (`SUBJECT_ERASED`) for an erased subject, as for RecordObjection.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.RestrictProcessingResponse> restrictProcessing(
        consentd.client.consent.v1.RestrictProcessingRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRestrictProcessingMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RecordObjection records an objection to processing for marketing: checks answer DENY
     * `objected` unless the subject grants a target again afterwards. An email, phone or external
     * id nobody has recorded yet becomes a subject, so the objection is kept (NOT_FOUND only for an
     * unknown subject id).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.RecordObjectionResponse> recordObjection(
        consentd.client.consent.v1.RecordObjectionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRecordObjectionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RectifyContact replaces the subject's contact points of one kind with a corrected value, or
     * takes them away (`remove`); the old values stay in the contact history (sealed, so erasure
     * removes them too).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.RectifyContactResponse> rectifyContact(
        consentd.client.consent.v1.RectifyContactRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRectifyContactMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * SubmitRightsRequest records a request (state RECEIVED) and, when asked, sends a one-time code
     * to the subject's own email or phone through the configured notifier. An email, phone or
     * external id nobody has recorded becomes a subject, so the request is kept and answered
     * (even "we hold nothing") within the month; NOT_FOUND only for an unknown subject id. Filed
     * with a portal token (subject:self), it is verified by that token at once (IDENTITY_VERIFIED,
     * verification_method `portal_token`) and no code is sent.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.SubmitRightsRequestResponse> submitRightsRequest(
        consentd.client.consent.v1.SubmitRightsRequestRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSubmitRightsRequestMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ResendVerificationCode sends a new code; the previous one stops working. The wrong tries
     * stay counted (five per request in all): once spent, FAILED_PRECONDITION and no code is sent.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ResendVerificationCodeResponse> resendVerificationCode(
        consentd.client.consent.v1.ResendVerificationCodeRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getResendVerificationCodeMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ConfirmIdentity checks the one-time code (24 hours; five wrong tries per request, whatever
     * codes were sent; then only an operator's attestation) or records an operator's
     * attestation. The request becomes IDENTITY_VERIFIED and is due one calendar month later.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ConfirmIdentityResponse> confirmIdentity(
        consentd.client.consent.v1.ConfirmIdentityRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getConfirmIdentityMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * StartRightsRequest moves a verified request to IN_PROGRESS.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.StartRightsRequestResponse> startRightsRequest(
        consentd.client.consent.v1.StartRightsRequestRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getStartRightsRequestMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ExtendRightsRequest extends the deadline once, by one or two months, with a reason, before the
     * first due date, while the request is open (its identity may still be being verified: the
     * deadline runs from receipt). The person is told by e-mail, with the reason.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ExtendRightsRequestResponse> extendRightsRequest(
        consentd.client.consent.v1.ExtendRightsRequestRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getExtendRightsRequestMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * CompleteRightsRequest marks an in-progress request DONE; erase, restrict and object requests are
     * carried out in the same transaction. An access or portability request is done only once the
     * subject was exported (ExportSubject) after it was received: FAILED_PRECONDITION
     * `NOT_EXPORTED` before; its audit entry names that export's digest.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.CompleteRightsRequestResponse> completeRightsRequest(
        consentd.client.consent.v1.CompleteRightsRequestRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCompleteRightsRequestMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RefuseRightsRequest closes a request as REFUSED, with the reason told to the person by
     * e-mail, with their right to complain to the supervisory authority.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.RefuseRightsRequestResponse> refuseRightsRequest(
        consentd.client.consent.v1.RefuseRightsRequestRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRefuseRightsRequestMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RecordPersonTold records that the operator told the person of the request's extension or
     * refusal, and why, themselves (a call, a letter): `person_told_at` becomes now (an extension
     * counts once the person is told within the first month; until then the first due date
     * stands). A request whose person was told already answers as it is; FAILED_PRECONDITION for
     * a request neither extended nor refused.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.RecordPersonToldResponse> recordPersonTold(
        consentd.client.consent.v1.RecordPersonToldRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRecordPersonToldMethod(), getCallOptions()), request);
    }

    /**
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.GetRightsRequestResponse> getRightsRequest(
        consentd.client.consent.v1.GetRightsRequestRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetRightsRequestMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListRightsRequests lists requests, or only the open ones past their due date.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<consentd.client.consent.v1.ListRightsRequestsResponse> listRightsRequests(
        consentd.client.consent.v1.ListRightsRequestsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListRightsRequestsMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_EXPORT_SUBJECT = 0;
  private static final int METHODID_ERASE_SUBJECT = 1;
  private static final int METHODID_RESTRICT_PROCESSING = 2;
  private static final int METHODID_RECORD_OBJECTION = 3;
  private static final int METHODID_RECTIFY_CONTACT = 4;
  private static final int METHODID_SUBMIT_RIGHTS_REQUEST = 5;
  private static final int METHODID_RESEND_VERIFICATION_CODE = 6;
  private static final int METHODID_CONFIRM_IDENTITY = 7;
  private static final int METHODID_START_RIGHTS_REQUEST = 8;
  private static final int METHODID_EXTEND_RIGHTS_REQUEST = 9;
  private static final int METHODID_COMPLETE_RIGHTS_REQUEST = 10;
  private static final int METHODID_REFUSE_RIGHTS_REQUEST = 11;
  private static final int METHODID_RECORD_PERSON_TOLD = 12;
  private static final int METHODID_GET_RIGHTS_REQUEST = 13;
  private static final int METHODID_LIST_RIGHTS_REQUESTS = 14;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final RightsServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(RightsServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_EXPORT_SUBJECT:
          serviceImpl.exportSubject((consentd.client.consent.v1.ExportSubjectRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ExportSubjectResponse>) responseObserver);
          break;
        case METHODID_ERASE_SUBJECT:
          serviceImpl.eraseSubject((consentd.client.consent.v1.EraseSubjectRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.EraseSubjectResponse>) responseObserver);
          break;
        case METHODID_RESTRICT_PROCESSING:
          serviceImpl.restrictProcessing((consentd.client.consent.v1.RestrictProcessingRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.RestrictProcessingResponse>) responseObserver);
          break;
        case METHODID_RECORD_OBJECTION:
          serviceImpl.recordObjection((consentd.client.consent.v1.RecordObjectionRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.RecordObjectionResponse>) responseObserver);
          break;
        case METHODID_RECTIFY_CONTACT:
          serviceImpl.rectifyContact((consentd.client.consent.v1.RectifyContactRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.RectifyContactResponse>) responseObserver);
          break;
        case METHODID_SUBMIT_RIGHTS_REQUEST:
          serviceImpl.submitRightsRequest((consentd.client.consent.v1.SubmitRightsRequestRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.SubmitRightsRequestResponse>) responseObserver);
          break;
        case METHODID_RESEND_VERIFICATION_CODE:
          serviceImpl.resendVerificationCode((consentd.client.consent.v1.ResendVerificationCodeRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ResendVerificationCodeResponse>) responseObserver);
          break;
        case METHODID_CONFIRM_IDENTITY:
          serviceImpl.confirmIdentity((consentd.client.consent.v1.ConfirmIdentityRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ConfirmIdentityResponse>) responseObserver);
          break;
        case METHODID_START_RIGHTS_REQUEST:
          serviceImpl.startRightsRequest((consentd.client.consent.v1.StartRightsRequestRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.StartRightsRequestResponse>) responseObserver);
          break;
        case METHODID_EXTEND_RIGHTS_REQUEST:
          serviceImpl.extendRightsRequest((consentd.client.consent.v1.ExtendRightsRequestRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ExtendRightsRequestResponse>) responseObserver);
          break;
        case METHODID_COMPLETE_RIGHTS_REQUEST:
          serviceImpl.completeRightsRequest((consentd.client.consent.v1.CompleteRightsRequestRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.CompleteRightsRequestResponse>) responseObserver);
          break;
        case METHODID_REFUSE_RIGHTS_REQUEST:
          serviceImpl.refuseRightsRequest((consentd.client.consent.v1.RefuseRightsRequestRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.RefuseRightsRequestResponse>) responseObserver);
          break;
        case METHODID_RECORD_PERSON_TOLD:
          serviceImpl.recordPersonTold((consentd.client.consent.v1.RecordPersonToldRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.RecordPersonToldResponse>) responseObserver);
          break;
        case METHODID_GET_RIGHTS_REQUEST:
          serviceImpl.getRightsRequest((consentd.client.consent.v1.GetRightsRequestRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.GetRightsRequestResponse>) responseObserver);
          break;
        case METHODID_LIST_RIGHTS_REQUESTS:
          serviceImpl.listRightsRequests((consentd.client.consent.v1.ListRightsRequestsRequest) request,
              (io.grpc.stub.StreamObserver<consentd.client.consent.v1.ListRightsRequestsResponse>) responseObserver);
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

  private static abstract class RightsServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    RightsServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return consentd.client.consent.v1.Rights.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("RightsService");
    }
  }

  private static final class RightsServiceFileDescriptorSupplier
      extends RightsServiceBaseDescriptorSupplier {
    RightsServiceFileDescriptorSupplier() {}
  }

  private static final class RightsServiceMethodDescriptorSupplier
      extends RightsServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    RightsServiceMethodDescriptorSupplier(String methodName) {
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
      synchronized (RightsServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new RightsServiceFileDescriptorSupplier())
              .addMethod(getExportSubjectMethod())
              .addMethod(getEraseSubjectMethod())
              .addMethod(getRestrictProcessingMethod())
              .addMethod(getRecordObjectionMethod())
              .addMethod(getRectifyContactMethod())
              .addMethod(getSubmitRightsRequestMethod())
              .addMethod(getResendVerificationCodeMethod())
              .addMethod(getConfirmIdentityMethod())
              .addMethod(getStartRightsRequestMethod())
              .addMethod(getExtendRightsRequestMethod())
              .addMethod(getCompleteRightsRequestMethod())
              .addMethod(getRefuseRightsRequestMethod())
              .addMethod(getRecordPersonToldMethod())
              .addMethod(getGetRightsRequestMethod())
              .addMethod(getListRightsRequestsMethod())
              .build();
        }
      }
    }
    return result;
  }
}
