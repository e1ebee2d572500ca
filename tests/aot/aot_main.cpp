// The C++ wrapper (<NET>.hpp) in a program built with no Halide on any path.
//   aot_main_cpp INPUT.bin N OUT.bin
#include <cstdio>
#include <fstream>
#include <iostream>
#include <vector>

#include "cifar_resnet20.hpp"

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  int n = std::atoi(argv[2]);
  std::vector<float> x(std::size_t(n) * 3 * 32 * 32);
  std::ifstream(argv[1], std::ios::binary).read(reinterpret_cast<char*>(x.data()), x.size() * sizeof(float));
  try {
    cifar_resnet20::Model model = cifar_resnet20::Model::embedded();
    try {
      model.run(std::vector<float>(5));
      return 3;
    } catch (const cifar_resnet20::Error& e) {
      std::cout << "expected error: " << e.what() << "\n";
    }
    std::vector<float> y = model.run(x);
    std::ofstream(argv[3], std::ios::binary).write(reinterpret_cast<const char*>(y.data()), y.size() * sizeof(float));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
