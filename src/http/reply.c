/* Answers: JSON bodies, empty bodies and OpenStack-shaped errors per service. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http/http.h"
#include "util/strx.h"

static const char *status_title(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Internal Server Error" : "Error";
    }
}

/* Nova's fault names, which novaclient and the SDK read the message from. */
static const char *nova_fault(int status)
{
    switch (status) {
    case 400: return "badRequest";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "itemNotFound";
    case 405: return "methodNotAllowed";
    case 409: return "conflictingRequest";
    case 413: return "overLimit";
    case 415: return "badMediaType";
    case 429: return "overLimit";
    case 501: return "notImplemented";
    case 503: return "serviceUnavailable";
    default: return "computeFault";
    }
}

static const char *neutron_type(int status)
{
    switch (status) {
    case 400: return "BadRequest";
    case 401: return "NotAuthorized";
    case 403: return "PolicyNotAuthorized";
    case 404: return "NotFound";
    case 409: return "Conflict";
    case 413: return "RequestEntityTooLarge";
    case 415: return "HTTPUnsupportedMediaType";
    case 429: return "OverQuota";
    default: return "InternalError";
    }
}

json_t *reply_error_body(enum service svc, int status, const char *kind, const char *msg)
{
    switch (svc) {
    case SVC_COMPUTE:
    case SVC_VOLUME:
        return json_pack("{s:{s:i,s:s}}", nova_fault(status), "code", status, "message", msg);
    case SVC_NETWORK:
        return json_pack("{s:{s:s,s:s,s:s}}", "NeutronError", "type",
                         kind ? kind : neutron_type(status), "message", msg, "detail", "");
    case SVC_IMAGE:
        return json_pack("{s:i,s:s,s:s}", "code", status, "title", status_title(status), "message",
                         msg);
    default:
        return json_pack("{s:{s:i,s:s,s:s}}", "error", "code", status, "title",
                         status_title(status), "message", msg);
    }
}

int reply_json(struct req *r, int status, json_t *body)
{
    json_decref(r->out);
    r->out = body;
    r->status = status;
    r->answered = true;
    return 0;
}

int reply_empty(struct req *r, int status)
{
    json_decref(r->out);
    r->out = NULL;
    r->status = status;
    r->answered = true;
    return 0;
}

int reply_error(struct req *r)
{
    int status = r->c.status ? r->c.status : 500;
    const char *msg = r->c.msg[0] ? r->c.msg : "The server failed to answer the request.";
    if (status == 429 && r->svc == SVC_COMPUTE) {
        char after[16];
        snprintf(after, sizeof(after), "%d", r->retry_after_s > 0 ? r->retry_after_s : 1);
        return reply_json(r, status, json_pack("{s:{s:i,s:s,s:s}}", "overLimit", "code", 429,
                                               "message", msg, "retryAfter", after));
    }
    return reply_json(r, status, reply_error_body(r->svc, status, r->c.kind, msg));
}

int reply_fail(struct req *r, int status, const char *fmt, ...)
{
    if (r->c.status == 0) {
        va_list ap;
        va_start(ap, fmt);
        r->c.status = status;
        vsnprintf(r->c.msg, sizeof(r->c.msg), fmt, ap);
        va_end(ap);
    }
    return reply_error(r);
}

void req_set_header(struct req *r, const char *name, const char *fmt, ...)
{
    if (r->nhdr >= REQ_MAX_HDRS)
        return;
    str_copy(r->hdr[r->nhdr].name, name, sizeof(r->hdr[0].name));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->hdr[r->nhdr].value, sizeof(r->hdr[0].value), fmt, ap);
    va_end(ap);
    r->nhdr++;
}
