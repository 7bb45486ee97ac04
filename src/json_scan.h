/*
 * json_scan.c: spans of the top-level members of a JSON object.
 */

#ifndef __H_JSON_SCAN_H
#define __H_JSON_SCAN_H

#include <stddef.h>

#define JSON_SCAN_DEPTH_MAX	128

#define JSON_OBJECT		1
#define JSON_ARRAY		2
#define JSON_STRING		3
#define JSON_NUMBER		4
#define JSON_TRUE		5
#define JSON_FALSE		6
#define JSON_NULL		7

/* Offsets into the scanned bytes; strings include their quotes. */
struct json_member {
	size_t		key;
	size_t		key_len;
	size_t		value;
	size_t		value_len;
	int		type;
};

int	json_scan_valid(const void *, size_t);
int	json_scan_object(const void *, size_t, struct json_member *, int,
	    size_t *);
const struct json_member	*json_scan_find(const void *,
	    const struct json_member *, int, const char *);
int	json_scan_string(const void *, const struct json_member *, int,
	    char *, size_t);
long long	json_scan_uint(const void *, const struct json_member *);
int	json_scan_empty(const void *, const struct json_member *);

#endif
