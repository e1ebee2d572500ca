// A user's own network, declared in the resgen DSL: a ResNet-20-style classifier for 28x28
// grayscale images (He et al. 2015's CIFAR design with option A shortcuts). The parameter
// names match tools/train_fashion_mnist.py's PyTorch model, so its weights load as they are.
#include "resgen/dsl.hpp"
#include "resgen/register.hpp"

using namespace resgen::dsl;

constexpr Network fashion_resnet20(Shape in, int classes) {
  Network net("fashion_resnet20", in);
  Value x = net.conv2d(net.input(), "conv1", 16, 3, /*stride=*/1, /*padding=*/1);
  x = net.relu(net.batch_norm(x, "bn1"));
  const BlockSpec basic{BlockKind::basic, /*preact=*/false, Shortcut::a};
  x = stage(net, x, "layer1", basic, /*blocks=*/3, /*planes=*/16, /*stride=*/1);  // 16x28x28
  x = stage(net, x, "layer2", basic, 3, 32, 2);                                   // 32x14x14
  x = stage(net, x, "layer3", basic, 3, 64, 2);                                   // 64x7x7
  x = net.flatten(net.global_avg_pool(x));
  net.linear(x, "fc", /*in_features=*/64, classes);
  return net;
}

// Checked by the C++ compiler at 1x28x28 and 10 classes; known to the generator as
// "fashion_resnet20".
RESGEN_NETWORK(fashion_resnet20, "ResNet-20-style Fashion-MNIST classifier (user spec)", 1, 28, 28, 10);
