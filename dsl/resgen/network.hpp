// The network graph and its op builders.
//
// A Network owns its nodes; builders return Value handles (indices). Every builder infers the
// output shape on the spot and checks it. All of it is constexpr, so the same spec can be
// evaluated by the C++ compiler (see check.hpp: a shape error is then a compile error that
// names the block and the shapes) or at run time (a shape error throws SpecError).
#pragma once

#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <vector>

#include "resgen/name.hpp"

namespace resgen::dsl {

// Per-image activation shape: channels x height x width.
struct Shape {
  int c = 0, h = 0, w = 0;
  constexpr bool operator==(const Shape&) const = default;
  constexpr long long elements() const { return 1LL * c * h * w; }
};

constexpr Name to_string(Shape s) {
  return to_string(s.c) + "x" + to_string(s.h) + "x" + to_string(s.w);
}

// Thrown by builders evaluated at run time.
class SpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Op {
  input,
  conv2d,
  batch_norm,
  relu,
  add,
  max_pool,
  avg_pool,
  global_avg_pool,
  linear,
  flatten,
  pad_channels,  // option A shortcut: subsample at even indices, zero-pad channels
};

constexpr std::string_view op_name(Op op) {
  switch (op) {
    case Op::input: return "input";
    case Op::conv2d: return "conv2d";
    case Op::batch_norm: return "batch_norm";
    case Op::relu: return "relu";
    case Op::add: return "add";
    case Op::max_pool: return "max_pool";
    case Op::avg_pool: return "avg_pool";
    case Op::global_avg_pool: return "global_avg_pool";
    case Op::linear: return "linear";
    case Op::flatten: return "flatten";
    case Op::pad_channels: return "pad_channels";
  }
  return "?";
}

struct Node {
  Op op = Op::input;
  Name name;   // value name; for conv2d/batch_norm/linear also the parameter prefix
  Name block;  // enclosing block, for diagnostics ("layer2.0"), may be empty
  int a = -1, b = -1; // operand value ids
  Shape shape;        // output shape
  int kernel = 0, stride = 1, padding = 0, groups = 1;
  bool bias = false;                 // conv2d: has a bias parameter
  int pad_before = 0, pad_after = 0; // pad_channels
};

struct Value {
  int id = -1;
};

class Network {
 public:
  constexpr Network(Name name, Shape input) : name_(std::move(name)) {
    Node n;
    n.op = Op::input;
    n.name = "input";
    n.shape = input;
    if (input.c < 1 || input.h < 1 || input.w < 1)
      fail("input shape " + to_string(input) + " must have at least one channel and one pixel");
    nodes_.push_back(n);
  }

  // --- scoping, for diagnostics -------------------------------------------------------------
  constexpr void set_block(Name block) { block_ = std::move(block); }
  constexpr const Name& block() const { return block_; }

  // --- ops --------------------------------------------------------------------------------
  constexpr Value input() const { return Value{0}; }

  constexpr Value conv2d(Value x, Name name, int out_channels, int kernel, int stride = 1,
                         int padding = 0, int groups = 1, bool bias = false) {
    Shape in = shape(x);
    Node n = make(Op::conv2d, std::move(name), x);
    n.kernel = kernel, n.stride = stride, n.padding = padding, n.groups = groups, n.bias = bias;
    n.shape = in;
    if (out_channels < 1 || kernel < 1 || stride < 1 || padding < 0 || groups < 1) {
      fail(where(n) + "conv2d needs out_channels, kernel, stride, groups >= 1 and padding >= 0");
    } else if (in.c % groups != 0 || out_channels % groups != 0) {
      fail(where(n) + "conv2d groups=" + to_string(groups) + " must divide input channels " +
           to_string(in.c) + " and output channels " + to_string(out_channels));
    } else {
      n.shape = {out_channels, window_out(n, in.h, "height"), window_out(n, in.w, "width")};
    }
    return push(n);
  }

  constexpr Value batch_norm(Value x, Name name) {
    Node n = make(Op::batch_norm, std::move(name), x);
    n.shape = shape(x);
    return push(n);
  }

  constexpr Value relu(Value x, Name name = "") {
    if (name.empty()) name = nodes_[id(x)].name + ".relu";
    Node n = make(Op::relu, name, x);
    n.shape = shape(x);
    return push(n);
  }

  // Residual add: both operands must have the same shape.
  constexpr Value add(Value a, Value b, Name name = "") {
    if (name.empty()) name = block_ + ".add";
    Node n = make(Op::add, name, a);
    n.b = use(b);
    n.shape = shape(a);
    if (shape(a) != shape(b))
      fail(where(n) + "residual add of " + to_string(shape(a)) + " (" + nodes_[id(a)].name +
           ") and " + to_string(shape(b)) + " (" + nodes_[id(b)].name +
           ") needs a projection or padding shortcut");
    return push(n);
  }

  constexpr Value max_pool(Value x, Name name, int kernel, int stride, int padding = 0) {
    return pool(Op::max_pool, x, std::move(name), kernel, stride, padding);
  }
  constexpr Value avg_pool(Value x, Name name, int kernel, int stride, int padding = 0) {
    return pool(Op::avg_pool, x, std::move(name), kernel, stride, padding);
  }

  constexpr Value global_avg_pool(Value x, Name name = "avgpool") {
    Node n = make(Op::global_avg_pool, std::move(name), x);
    n.shape = {shape(x).c, 1, 1};
    return push(n);
  }

  constexpr Value flatten(Value x, Name name = "flatten") {
    Node n = make(Op::flatten, std::move(name), x);
    n.shape = {static_cast<int>(shape(x).elements()), 1, 1};
    return push(n);
  }

  // Fully connected layer over a flattened input; infers in_features.
  constexpr Value linear(Value x, Name name, int out_features) {
    Node n = make(Op::linear, std::move(name), x);
    n.bias = true;
    n.shape = {out_features, 1, 1};
    if (out_features < 1) fail(where(n) + "linear needs out_features >= 1");
    if (shape(x).h != 1 || shape(x).w != 1)
      fail(where(n) + "linear needs a flattened input (Cx1x1), got " + to_string(shape(x)) +
           ": insert flatten()");
    return push(n);
  }

  // Same, with the input width the author expects, checked against the inferred one.
  constexpr Value linear(Value x, Name name, int in_features, int out_features) {
    if (shape(x).elements() != in_features) {
      Node n = make(Op::linear, name, x);
      fail(where(n) + "linear expects " + to_string(in_features) + " input features, got " +
           to_string(shape(x)) + " = " + to_string(shape(x).elements()));
    }
    return linear(x, std::move(name), out_features);
  }

  // Option A shortcut: x[:, :, ::stride, ::stride], then zero channels up to out_channels,
  // (out - in) / 2 before the identity channels and the rest after.
  constexpr Value pad_channels(Value x, Name name, int out_channels, int stride) {
    Shape in = shape(x);
    Node n = make(Op::pad_channels, std::move(name), x);
    n.stride = stride;
    n.shape = in;
    if (stride < 1 || out_channels < in.c) {
      fail(where(n) + "pad_channels needs stride >= 1 and out_channels >= input channels " +
           to_string(in.c) + ", got " + to_string(out_channels));
    } else {
      int extra = out_channels - in.c;
      n.pad_before = extra / 2;
      n.pad_after = extra - extra / 2;
      n.shape = {out_channels, (in.h + stride - 1) / stride, (in.w + stride - 1) / stride};
    }
    return push(n);
  }

  // Marks the network output (the last value by default).
  constexpr void set_output(Value v) { output_ = use(v); }

  // --- queries ----------------------------------------------------------------------------
  constexpr const Name& name() const { return name_; }
  constexpr const std::vector<Node>& nodes() const { return nodes_; }
  constexpr const Node& node(Value v) const { return nodes_[id(v)]; }
  constexpr Shape shape(Value v) const { return nodes_[id(v)].shape; }
  constexpr Shape input_shape() const { return nodes_[0].shape; }
  constexpr int output() const { return output_ >= 0 ? output_ : static_cast<int>(nodes_.size()) - 1; }
  constexpr const Name& error() const { return error_; }
  constexpr bool ok() const { return error_.empty(); }

 private:
  // Queries fall back to the input for a foreign handle; builders report it (use()).
  constexpr int id(Value v) const {
    return v.id >= 0 && v.id < static_cast<int>(nodes_.size()) ? v.id : 0;
  }

  constexpr int use(Value v) {
    if (v.id < 0 || v.id >= static_cast<int>(nodes_.size()))
      fail("network " + name_ + ": value handle " + to_string(v.id) +
           " does not belong to this network (a default Value, or one from another network)");
    return id(v);
  }

  constexpr Node make(Op op, Name name, Value a) {
    Node n;
    n.op = op;
    n.name = std::move(name);
    n.block = block_;
    n.a = use(a);
    return n;
  }

  constexpr Value push(const Node& n) {
    nodes_.push_back(n);
    return Value{static_cast<int>(nodes_.size()) - 1};
  }

  constexpr Name where(const Node& n) const {
    Name s = "network " + name_;
    if (!n.block.empty()) s += ", block " + n.block;
    return s + ", " + Name(op_name(n.op)) + " " + n.name + ": ";
  }

  // Output extent of a window op along one axis; fails when no pixel is left.
  constexpr int window_out(const Node& n, int extent, std::string_view axis) {
    int out = (extent + 2 * n.padding - n.kernel) / n.stride + 1;
    if (extent + 2 * n.padding < n.kernel || out < 1) {
      fail(where(n) + "input " + to_string(shape(Value{n.a})) + " leaves no output pixels along " +
           Name(axis) + " (kernel " + to_string(n.kernel) + ", stride " +
           to_string(n.stride) + ", padding " + to_string(n.padding) + ")");
      return 1;
    }
    return out;
  }

  constexpr Value pool(Op op, Value x, Name name, int kernel, int stride, int padding) {
    Shape in = shape(x);
    Node n = make(op, std::move(name), x);
    n.kernel = kernel, n.stride = stride, n.padding = padding;
    n.shape = in;
    if (kernel < 1 || stride < 1 || padding < 0 || 2 * padding > kernel)
      fail(where(n) + "pooling needs kernel, stride >= 1 and 0 <= padding <= kernel/2");
    else
      n.shape = {in.c, window_out(n, in.h, "height"), window_out(n, in.w, "width")};
    return push(n);
  }

  constexpr void fail(Name message) {
    if (error_.empty()) error_ = message;
    if (!std::is_constant_evaluated()) throw SpecError(message.str());
  }

  Name name_;
  std::vector<Node> nodes_;
  Name block_;
  Name error_;
  int output_ = -1;
};

}  // namespace resgen::dsl
