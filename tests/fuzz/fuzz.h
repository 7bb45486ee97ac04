/*
 * What every fuzz harness shares: a check that reports where it failed
 * and aborts, so libFuzzer keeps the input.
 */

#ifndef __H_FUZZ_H
#define __H_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(x)	do {						\
	if (!(x)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #x);				\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#endif
