#include "nats_util.h"

#include <string>

#include "kubesync/bus/jetstream.h"

namespace kubesync::bus::internal {

Status TooLargeError(std::string_view what, int64_t size, int64_t limit, std::string_view limit_name) {
  Status error = InvalidArgumentError(std::string(what) + ": message of " + std::to_string(size) +
                                      " bytes exceeds the limit of " + std::to_string(limit) + " bytes (" +
                                      std::string(limit_name) + ")");
  error.WithHttp(0, std::string(kReasonMessageTooLarge));
  return error;
}

int64_t WireSize(std::string_view data, std::string_view msg_id) {
  const int64_t header = msg_id.empty() ? 0 : static_cast<int64_t>(10 + 13 + msg_id.size() + 2 + 2);
  return static_cast<int64_t>(data.size()) + header;
}

Status ToStatus(natsStatus s, std::string_view what, jsErrCode jerr) {
  if (s == NATS_OK) {
    return OkStatus();
  }
  std::string message = std::string(what) + ": " + natsStatus_GetText(s);
  if (jerr != 0) {
    message += " (jetstream error " + std::to_string(static_cast<int>(jerr)) + ")";
  }
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  if (detail != nullptr && *detail != '\0' && last == s) {
    message += ": ";
    message += detail;
  }
  if (s == NATS_MAX_PAYLOAD || jerr == JSStreamMessageExceedsMaximumErr) {
    // The server's max_payload or the stream's max message size: never fits, whatever the retry.
    Status error = InvalidArgumentError(std::move(message));
    error.WithHttp(0, std::string(kReasonMessageTooLarge));
    return error;
  }
  switch (s) {
    case NATS_TIMEOUT:
      return DeadlineExceededError(std::move(message));
    case NATS_IO_ERROR:
    case NATS_CONNECTION_CLOSED:
    case NATS_NO_SERVER:
    case NATS_STALE_CONNECTION:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NOT_YET_CONNECTED:
    case NATS_NO_RESPONDERS:
    case NATS_SLOW_CONSUMER:
      return UnavailableError(std::move(message));
    case NATS_NOT_FOUND:
      return NotFoundError(std::move(message));
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_MAX_PAYLOAD:
      return InvalidArgumentError(std::move(message));
    case NATS_CONNECTION_AUTH_FAILED:
      return UnauthenticatedError(std::move(message));
    case NATS_NOT_PERMITTED:
      return PermissionDeniedError(std::move(message));
    default:
      break;
  }
  if (jerr == JSStreamNotFoundErr || jerr == JSConsumerNotFoundErr) {
    return NotFoundError(std::move(message));
  }
  if (jerr != 0) {
    // The server refused: a config conflict, a limit; retrying the same call will not help.
    return FailedPreconditionError(std::move(message));
  }
  return InternalError(std::move(message));
}

}  // namespace kubesync::bus::internal
