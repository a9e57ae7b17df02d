/* hearth-agent's HTTP client for hearthd's agent API (/hearth/v1/agent): the host's
 * credential on every request, JSON bodies bounded, image bytes streamed. One client per
 * thread: a curl easy handle is not shared. */
#pragma once
#include <curl/curl.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLIENT_BODY_MAX ((size_t)1 << 20) /* bytes of a JSON answer */

struct client {
    CURL *curl;
    char base[320];          /* hearthd_url + "/hearth/v1/agent" */
    char host_hdr[96];       /* "X-Hearth-Host: hv1" */
    char secret_hdr[300];    /* "X-Hearth-Secret: ...": wiped by client_close */
    const atomic_bool *stop; /* when set, an interruptible call gives up within a second */
};

/* Gets a block of an image; 0, or -1 to abort the transfer. */
typedef int (*client_sink)(void *ud, const char *data, size_t len);

/* Sets cl up; the strings are copied; stop is borrowed. 0, or -1 when curl cannot start or
 * the strings are too long. */
int client_open(struct client *cl, const char *url, const char *host, const char *secret,
                const atomic_bool *stop);
/* Frees the handle and wipes the secret. Accepts a client that never opened. */
void client_close(struct client *cl);

/* Sends method path (below /hearth/v1/agent) with body (may be NULL; not stolen). Returns
 * the HTTP status, or -1 when hearthd could not be reached, the answer was larger than
 * CLIENT_BODY_MAX, or *stop ended an interruptible call: err[errlen] says why. out (may be
 * NULL) gets the answer's JSON, or NULL when it had none; the caller json_decrefs it. */
int client_json(struct client *cl, const char *method, const char *path, json_t *body,
                long timeout_s, bool interruptible, json_t **out, char *err, size_t errlen);

/* GETs path and gives the bytes of a 200 answer to sink: at most max bytes, more is -1.
 * Returns the HTTP status or -1 (err says why). Only a stall (under 1 KiB/s for 60 s)
 * times out: images are large. */
int client_fetch(struct client *cl, const char *path, int64_t max, client_sink sink, void *ud,
                 char *err, size_t errlen);
