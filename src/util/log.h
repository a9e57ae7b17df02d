/* One line per event on stderr: time, level, request id, message. */
#pragma once

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
/* rid may be NULL for events outside a request (start-up, conductor). */
void log_msg(enum log_level level, const char *rid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_info(rid, ...) log_msg(LOG_INFO, rid, __VA_ARGS__)
#define log_warn(rid, ...) log_msg(LOG_WARN, rid, __VA_ARGS__)
#define log_error(rid, ...) log_msg(LOG_ERROR, rid, __VA_ARGS__)
#define log_debug(rid, ...) log_msg(LOG_DEBUG, rid, __VA_ARGS__)
