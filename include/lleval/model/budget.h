/*
 * The memory a plan is checked against when the user names none: the GPU's
 * total memory (NVML), the machine's RAM for a CPU plan, else the guide's
 * 16 GiB card.
 */
#ifndef LLEVAL_BUDGET_H
#define LLEVAL_BUDGET_H

#include <stddef.h>
#include <stdint.h>
#include "lleval/model/vram.h"

/* The guide's card: an RTX 5080 with 16 GiB. */
#define LLEVAL_DEFAULT_BUDGET (16 * LLEVAL_GIB)

/* The budget in bytes for device dev; source (size bytes) says where it came
 * from ("NVML: <name>", "host memory", or an "assumed ..." text that says to
 * pass --vram). Never fails: the guide's card is the fallback. */
uint64_t lleval_vram_default_budget(enum lleval_vram_device dev, char *source, size_t size);

#endif
