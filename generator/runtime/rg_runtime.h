/* Types shared by the generated runtime (compiled into every generated library) and by the
 * generator itself (which packs embedded weights with the same code).
 *
 * C-style on purpose: the runtime is compiled into each lib<NET>.a with internal linkage, so
 * it must not instantiate templates or throw; everything it exports is prefixed <NET>_. */
#ifndef RESGEN_RG_RUNTIME_H
#define RESGEN_RG_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

enum rg_status {
  RG_OK = 0,
  RG_ERR_ARGUMENT = 1,   /* null pointer, bad size, bad count */
  RG_ERR_IO = 2,         /* a file cannot be opened or read */
  RG_ERR_WEIGHTS = 3,    /* the weights do not match the network (missing key, shape, dtype, format) */
  RG_ERR_MEMORY = 4,     /* allocation failed */
  RG_ERR_RUNTIME = 5,    /* a pipeline failed */
  RG_ERR_NO_EMBEDDED = 6 /* the library was generated without embedded weights */
};

enum rg_dtype { RG_F32 = 0, RG_F16 = 1, RG_BF16 = 2 };

/* One tensor of a parsed safetensors file. */
typedef struct {
  const char* key;        /* points into the caller-owned key storage (NUL-terminated) */
  int dtype;              /* rg_dtype, or -1 for a dtype resgen does not read */
  char dtype_name[16];
  int ndim;
  int64_t shape[8];
  uint64_t begin, end;    /* byte offsets into the data section */
} rg_tensor;

/* A tensor the network needs. Its safetensors key is the string at key_prefix followed by the
 * one at key_suffix ("layer1.0.conv1" and ".weight"): prefixes are shared with layer names, so
 * the tables of a thousand-layer network stay small. Keys are shorter than RG_MAX_KEY. */
#define RG_MAX_KEY 256

typedef struct {
  uint32_t key_prefix, key_suffix;  /* offsets into rg_net_desc.strings */
  int32_t ndim;
  int32_t shape[4];
} rg_param_desc;

enum rg_layer_kind {
  RG_TO_NHWC = 0, RG_CONV, RG_AFFINE, RG_RELU, RG_ADD, RG_PAD_CHANNELS,
  RG_MAX_POOL, RG_AVG_POOL, RG_GLOBAL_AVG_POOL, RG_LINEAR
};

/* One layer. Its input, output and residual shapes are those of its values. */
typedef struct {
  int32_t kind;                  /* rg_layer_kind */
  uint32_t name;                 /* offset into rg_net_desc.strings */
  int32_t kernel_id;
  int32_t ksize, groups;
  int32_t input, residual, output;  /* value ids; residual -1 when none */
  int32_t weight, bias, bn_gamma, bn_beta, bn_mean, bn_var;  /* param ids or -1 */
  int64_t packed_weights, packed_bias;  /* float offsets into the packed weights */
} rg_layer_desc;

/* Convolution weights: blocked (t, ci, kx, ky, co / RG_WEIGHT_BLOCK) for a conv without groups
 * whose output channels are a multiple of RG_WEIGHT_BLOCK, else dense (co, ci, kx, ky); the
 * first dimension is innermost. Must match generator/kernel.hpp (kWeightBlock). */
#define RG_WEIGHT_BLOCK 16

/* A CPU runs a batch through the layers in chunks of as many images as fit this much activation
 * arena, at least one (model.inc, rg_chunk); `resgen describe` reports it. */
#define RG_CHUNK_ARENA_BYTES ((int64_t)8 << 20)

enum rg_placement { RG_VALUE_INPUT = 0, RG_VALUE_OUTPUT = 1, RG_VALUE_ARENA = 2 };

typedef struct {
  int c, h, w;
  int placement;       /* rg_placement */
  int64_t offset;      /* per-image float offset in the arena */
  int64_t late_offset; /* per-image float offset in the late arena, -1 outside the late phase */
} rg_value_desc;

typedef int (*rg_kernel_fn)(void** args);

/* The network. A generated library holds its strings, params, layers and values encoded
 * (tables.inc decodes them once per process); the generator fills them directly. */
typedef struct {
  const char* name;
  int in_c, in_h, in_w, classes;
  int num_params, num_layers, num_values, num_kernels;
  const char* strings;  /* NUL-separated names, addressed by offset */
  const rg_param_desc* params;
  const rg_layer_desc* layers;
  const rg_value_desc* values;
  const rg_kernel_fn* kernels;
  int64_t arena_floats;          /* per image */
  int late_start;                /* the late phase's first layer (generator/passes/plan_arena.cpp), 0: none */
  int late_input;                /* the one value it receives from the layers before it */
  int64_t late_arena_floats;     /* per image, the late phase's own arena */
  int64_t largest_value_floats;  /* the largest activation tensor, per image */
  int64_t packed_floats;
  const unsigned char* encoded;  /* the encoded tables (NULL in the generator) */
} rg_net_desc;

#endif
