/*
 * client/certkey.h: the certificate key and certificate handling done in the
 * client with OpenSSL. The certificate key is not the account key: it is made
 * here (or lives in a token and is used through signer_csr), and it ends up in
 * privkey.pem for the web server.
 *
 * Functions return 0, or -1 after logging, unless stated otherwise.
 */
#ifndef P11ACME_CLIENT_CERTKEY_H
#define P11ACME_CLIENT_CERTKEY_H

#include <stddef.h>
#include <openssl/evp.h>

/* 1 for ec256, ec384, rsa2048, rsa3072, rsa4096. */
int certkey_type_valid(const char *type);
/* A fresh key of that type, or NULL. */
EVP_PKEY *certkey_generate(const char *type);
/* PKCS#8 PEM of the private key (malloc'd; free with secret_free), or NULL. */
char *certkey_pem(EVP_PKEY *key);
/* DER CSR: subject CN = names[0] when it fits (64 chars), SAN dNSName for each. */
int certkey_csr(EVP_PKEY *key, char *const *names, size_t n, unsigned char **der,
		size_t *der_len);

/* Read a CSR (PEM or DER), check its signature, return its DER and its names
 * (SAN dNSNames, else the CN). 0; -2 when the file cannot be read (missing, or not
 * a regular file: a FIFO or a device is refused without blocking), a configuration
 * error; -1 for a CSR that is not valid. Each logged. */
int csr_load(const char *path, unsigned char **der, size_t *der_len, char ***names,
	     size_t *n_names);

/* The public key of a CSR (DER), or NULL (logged). The caller frees it. */
EVP_PKEY *csr_pubkey(const unsigned char *csr, size_t csr_len);
/* Issuer CN of a certificate (PEM), malloc'd, or NULL. */
char *cert_issuer_cn(const char *cert_pem);
/* A certificate file (PEM or DER) as DER. */
int cert_load_der(const char *path, unsigned char **der, size_t *der_len);

#endif
