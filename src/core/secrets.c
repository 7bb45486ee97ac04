/*
 * Secrets: the master key, upstream keys sealed at rest, random tokens,
 * hashes of client keys and sessions, passwords, masking.
 *
 * The master key is 32 bytes, given as 64 hex characters in
 * FUSION_MASTER_KEY or kept in a key file (mode 0600) created on first
 * start. Losing it makes every stored upstream key unreadable.
 */

#include <sys/stat.h>

#include <kore/kore.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/core.h"

static u_int8_t	master_key[crypto_secretbox_KEYBYTES];
static int	master_loaded = 0;

static int	master_from_hex(const char *, size_t);
static int	master_from_file(const char *);

static int
master_from_hex(const char *hex, size_t len)
{
	size_t	bin_len;

	if (sodium_hex2bin(master_key, sizeof(master_key), hex, len,
	    NULL, &bin_len, NULL) != 0 || bin_len != sizeof(master_key))
		return (KORE_RESULT_ERROR);

	master_loaded = 1;
	return (KORE_RESULT_OK);
}

/*
 * Read the key file, or create it with a new random key. A file that is
 * readable by others is refused rather than silently trusted.
 */
static int
master_from_file(const char *path)
{
	struct stat	st;
	char		hex[sizeof(master_key) * 2 + 2];
	ssize_t		n;
	int		fd, ret;

	ret = KORE_RESULT_ERROR;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		if (fstat(fd, &st) == -1) {
			kore_log(LOG_ERR, "fstat(%s): %s", path, errno_s);
			goto done;
		}
		if (st.st_mode & (S_IRWXG | S_IRWXO)) {
			kore_log(LOG_ERR, "master key file %s is readable by "
			    "others: chmod 600 it", path);
			goto done;
		}
		n = read(fd, hex, sizeof(hex));
		if (n < (ssize_t)sizeof(master_key) * 2) {
			kore_log(LOG_ERR, "master key file %s is too short",
			    path);
			goto done;
		}
		if (master_from_hex(hex, sizeof(master_key) * 2) !=
		    KORE_RESULT_OK) {
			kore_log(LOG_ERR, "master key file %s is not 64 hex "
			    "characters", path);
			goto done;
		}
		ret = KORE_RESULT_OK;
		goto done;
	}

	if (errno != ENOENT) {
		kore_log(LOG_ERR, "open(%s): %s", path, errno_s);
		return (KORE_RESULT_ERROR);
	}

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		kore_log(LOG_ERR, "create(%s): %s", path, errno_s);
		return (KORE_RESULT_ERROR);
	}

	randombytes_buf(master_key, sizeof(master_key));
	(void)sodium_bin2hex(hex, sizeof(hex), master_key, sizeof(master_key));
	hex[sizeof(master_key) * 2] = '\n';

	if (write(fd, hex, sizeof(master_key) * 2 + 1) !=
	    (ssize_t)sizeof(master_key) * 2 + 1 || fsync(fd) == -1) {
		kore_log(LOG_ERR, "write(%s): %s", path, errno_s);
		(void)unlink(path);
		goto done;
	}

	kore_log(LOG_NOTICE, "created master key file %s: back it up, "
	    "stored upstream keys cannot be read without it", path);
	master_loaded = 1;
	ret = KORE_RESULT_OK;

done:
	sodium_memzero(hex, sizeof(hex));
	(void)close(fd);
	return (ret);
}

/*
 * Load the master key from FUSION_MASTER_KEY, else from keyfile (created
 * when missing). Called once in the parent; workers inherit the key.
 */
int
secrets_init(const char *keyfile)
{
	const char	*env;

	if ((env = getenv("FUSION_MASTER_KEY")) != NULL && *env != '\0') {
		if (master_from_hex(env, strlen(env)) != KORE_RESULT_OK) {
			kore_log(LOG_ERR, "FUSION_MASTER_KEY must be 64 hex "
			    "characters (32 bytes)");
			return (KORE_RESULT_ERROR);
		}
		return (KORE_RESULT_OK);
	}

	return (master_from_file(keyfile));
}

/* secret in a secretbox under key: nonce, then the box. */
static void
secrets_box(const u_int8_t *key, const char *secret, u_int8_t **out,
    size_t *outlen)
{
	size_t		len;
	u_int8_t	*box;

	len = strlen(secret);
	*outlen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	box = kore_malloc(*outlen);

	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES,
	    (const u_int8_t *)secret, len, box, key);

	*out = box;
}

/* What secrets_box made, as a string the caller wipes and frees, or NULL. */
static char *
secrets_unbox(const u_int8_t *key, const u_int8_t *box, size_t len)
{
	char	*plain;
	size_t	 plen;

	if (len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		return (NULL);

	plen = len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	plain = kore_malloc(plen + 1);

	if (crypto_secretbox_open_easy((u_int8_t *)plain,
	    box + crypto_secretbox_NONCEBYTES,
	    len - crypto_secretbox_NONCEBYTES, box, key) != 0) {
		kore_free(plain);
		return (NULL);
	}

	plain[plen] = '\0';
	return (plain);
}

/*
 * Seal secret with the master key for storage. The caller frees *out
 * (nonce followed by the box).
 */
int
secrets_seal(const char *secret, u_int8_t **out, size_t *outlen)
{
	if (!master_loaded)
		return (KORE_RESULT_ERROR);
	secrets_box(master_key, secret, out, outlen);
	return (KORE_RESULT_OK);
}

/*
 * Open what secrets_seal made. Returns a NUL-terminated string the caller
 * wipes and frees, or NULL when the box is damaged or the key is wrong.
 */
char *
secrets_open(const u_int8_t *box, size_t len)
{
	if (!master_loaded)
		return (NULL);
	return (secrets_unbox(master_key, box, len));
}

/*
 * The key a passphrase gives with salt (SECRETS_SALT bytes) and the
 * argon2id limits ops and mem, into key (SECRETS_KEY bytes). For secrets
 * that leave the gateway (a configuration export).
 */
int
secrets_pass_key(const char *pass, const u_int8_t *salt, u_int64_t ops,
    size_t mem, u_int8_t *key)
{
	if (crypto_pwhash(key, SECRETS_KEY, pass, strlen(pass), salt, ops,
	    mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return (KORE_RESULT_ERROR);
	return (KORE_RESULT_OK);
}

/* secret sealed under key as base64 text; the caller frees it. */
char *
secrets_pass_seal(const u_int8_t *key, const char *secret)
{
	u_int8_t	*box;
	size_t		 len, blen;
	char		*out;

	secrets_box(key, secret, &box, &len);
	blen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	out = kore_malloc(blen);
	(void)sodium_bin2base64(out, blen, box, len,
	    sodium_base64_VARIANT_ORIGINAL);
	kore_free(box);
	return (out);
}

/*
 * Open what secrets_pass_seal made: the secret (the caller wipes and
 * frees it), or NULL when the text is damaged or the key is wrong.
 */
char *
secrets_pass_open(const u_int8_t *key, const char *b64)
{
	u_int8_t	*box;
	size_t		 len, blen;
	char		*plain;

	blen = strlen(b64);
	box = kore_malloc(blen + 1);
	if (sodium_base642bin(box, blen + 1, b64, blen, NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		kore_free(box);
		return (NULL);
	}
	plain = secrets_unbox(key, box, len);
	kore_free(box);
	return (plain);
}

/*
 * A random token: prefix followed by 43 URL-safe base64 characters
 * (256 bits). out must hold at least strlen(prefix) + 44 bytes.
 */
void
secrets_token(const char *prefix, char *out, size_t outlen)
{
	u_int8_t	raw[32];
	size_t		plen;

	plen = strlen(prefix);
	if (outlen < plen + sodium_base64_ENCODED_LEN(sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		fatal("secrets_token: buffer too small");

	memcpy(out, prefix, plen);
	randombytes_buf(raw, sizeof(raw));
	(void)sodium_bin2base64(out + plen, outlen - plen, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

/*
 * nbytes random bytes as hex into out (outlen > 2 * nbytes), for ids that
 * must not repeat but guard nothing. This function can't fail.
 */
void
secrets_random_hex(char *out, size_t outlen, size_t nbytes)
{
	u_int8_t	raw[32];

	if (nbytes > sizeof(raw) || outlen < nbytes * 2 + 1)
		fatal("secrets_random_hex: %zu bytes into %zu", nbytes, outlen);
	randombytes_buf(raw, nbytes);
	(void)sodium_bin2hex(out, outlen, raw, nbytes);
}

/*
 * Hash a high-entropy token (client key, session) for storage: BLAKE2b
 * keyed with the master key, as 64 hex characters. out holds
 * SECRET_HASH_HEX bytes. This function can't fail.
 */
void
secrets_hash(const char *token, char *out)
{
	u_int8_t	h[32];

	crypto_generichash(h, sizeof(h), (const u_int8_t *)token,
	    strlen(token), master_key, sizeof(master_key));
	(void)sodium_bin2hex(out, SECRET_HASH_HEX, h, sizeof(h));
}

/*
 * Show at most the first 3 and last 4 characters of a secret; short ones
 * show nothing of themselves. This function can't fail.
 */
void
secrets_mask(const char *secret, char *out, size_t outlen)
{
	size_t	len;

	len = strlen(secret);
	if (len < 12) {
		(void)snprintf(out, outlen, "****");
		return;
	}

	(void)snprintf(out, outlen, "%.3s...%s", secret, secret + len - 4);
}

/*
 * A URL with credentials (a proxy's) as it may be shown: the user and
 * password masked as a key is, the rest as it is: user "u", password
 * "p", host "h" gives the scheme, "****@h". This function can't fail.
 */
void
secrets_mask_url(const char *url, char *out, size_t outlen)
{
	const char	*host, *at, *end;
	char		 userinfo[2048], masked[32];
	size_t		 len;

	if ((host = strstr(url, "://")) == NULL) {
		(void)snprintf(out, outlen, "%s", url);
		return;
	}
	host += 3;
	if ((end = strchr(host, '/')) == NULL)
		end = host + strlen(host);
	if ((at = memchr(host, '@', (size_t)(end - host))) == NULL) {
		(void)snprintf(out, outlen, "%s", url);
		return;
	}

	len = (size_t)(at - host);
	if (len >= sizeof(userinfo))
		len = sizeof(userinfo) - 1;
	memcpy(userinfo, host, len);
	userinfo[len] = '\0';
	secrets_mask(userinfo, masked, sizeof(masked));
	sodium_memzero(userinfo, sizeof(userinfo));
	(void)snprintf(out, outlen, "%.*s%s%s", (int)(host - url), url, masked,
	    at);
}

/* Constant-time comparison of two strings of any length. */
int
secrets_equal(const char *a, const char *b)
{
	u_int8_t	ha[32], hb[32];

	crypto_generichash(ha, sizeof(ha), (const u_int8_t *)a, strlen(a),
	    NULL, 0);
	crypto_generichash(hb, sizeof(hb), (const u_int8_t *)b, strlen(b),
	    NULL, 0);

	return (sodium_memcmp(ha, hb, sizeof(ha)) == 0);
}

/* argon2id hash of a password into out (crypto_pwhash_STRBYTES). */
int
secrets_password_hash(const char *password, char *out, size_t outlen)
{
	if (outlen < crypto_pwhash_STRBYTES)
		return (KORE_RESULT_ERROR);

	if (crypto_pwhash_str(out, password, strlen(password),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		kore_log(LOG_ERR, "crypto_pwhash_str: out of memory");
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

int
secrets_password_verify(const char *hash, const char *password)
{
	return (crypto_pwhash_str_verify(hash, password,
	    strlen(password)) == 0);
}
