/* Runs the embedded cifar_resnet20 on a fixed input and prints the logits, one per line. */
#include <stdio.h>

#include "cifar_resnet20.h"

int main(void) {
  static float input[3 * 32 * 32], logits[10];
  for (int i = 0; i < 3 * 32 * 32; ++i) input[i] = (float)((i % 17) - 8) / 8.0f;
  cifar_resnet20_model* m = NULL;
  if (cifar_resnet20_create(&m) != 0 || cifar_resnet20_run(m, 1, input, 3 * 32 * 32, logits, 10) != 0) {
    fprintf(stderr, "error: %s\n", cifar_resnet20_last_error());
    return 1;
  }
  for (int k = 0; k < 10; ++k) printf("%.6f\n", logits[k]);
  cifar_resnet20_destroy(m);
  return 0;
}
