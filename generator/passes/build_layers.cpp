// build_layers: graph nodes -> layers, folding batch-norm into convolutions and fusing ReLU
// and residual adds into the layer that produces their operand.
//
// Requires: collect_params has run (parameter indices by key). Walks nodes in construction
// order, which is a topological order. A fusion only happens when the producer's result has
// no other consumer, so no value that anything else reads changes meaning.
#include <map>

#include "generator/lowered.hpp"

namespace resgen {
namespace {

using dsl::Node;
using dsl::Op;

struct Builder {
  Builder(const dsl::Network& n, Lowered& o) : net(n), out(o) {}

  const dsl::Network& net;
  Lowered& out;
  std::vector<int> consumers;        // per node
  std::vector<int> value_of;         // node -> value id (-1: not materialized)
  std::vector<int> producer_of;      // value -> layer index (-1: network input)
  std::map<std::string, int> param_index;

  int param(const std::string& key) const {
    auto it = param_index.find(key);
    return it == param_index.end() ? -1 : it->second;
  }

  int new_value(Shape s) {
    out.values.push_back(ValueInfo{s});
    producer_of.push_back(-1);
    return static_cast<int>(out.values.size()) - 1;
  }

  Layer& emit(Layer l, int node) {
    l.output = new_value(l.out);
    producer_of[l.output] = static_cast<int>(out.layers.size());
    value_of[node] = l.output;
    out.layers.push_back(std::move(l));
    return out.layers.back();
  }

  // The layer that produced node `n`'s value, if that value is read by `n`'s one consumer only.
  Layer* sole_producer(int n) {
    if (consumers[n] != 1 || value(n) < 0) return nullptr;
    int li = producer_of[value(n)];
    return li < 0 ? nullptr : &out.layers[li];
  }

  int value(int n) {
    if (value_of[n] < 0) materialize_pad(n);
    return value_of[n];
  }

  // pad_channels nodes wait until a consumer cannot fuse them.
  void materialize_pad(int n) {
    const Node& nd = net.nodes()[n];
    Layer l = base(LayerKind::pad_channels, nd);
    l.stride = nd.stride;
    l.res_pad_before = nd.pad_before;
    emit(std::move(l), n);
  }

  Layer base(LayerKind kind, const Node& nd) {
    Layer l;
    l.kind = kind;
    l.name = nd.name.str();
    l.in = net.nodes()[nd.a].shape;
    l.out = nd.shape;
    l.kernel = nd.kernel, l.stride = nd.stride, l.padding = nd.padding, l.groups = nd.groups;
    l.input = value(nd.a);
    return l;
  }

  void conv(const Node& nd, int n) {
    Layer l = base(LayerKind::conv, nd);
    l.weight = param(nd.name.str() + ".weight");
    if (nd.bias) l.bias = param(nd.name.str() + ".bias");
    emit(std::move(l), n);
  }

  void batch_norm(const Node& nd, int n) {
    std::string p = nd.name.str();
    Layer* conv = sole_producer(nd.a);
    if (!conv || conv->kind != LayerKind::conv || conv->bn_gamma >= 0 || conv->relu ||
        conv->residual != Residual::none) {
      Layer l = base(LayerKind::affine, nd);
      conv = &emit(std::move(l), n);
    } else {
      value_of[n] = value(nd.a);  // the BN folds into the conv, which keeps its name
    }
    conv->bn_gamma = param(p + ".weight");
    conv->bn_beta = param(p + ".bias");
    conv->bn_mean = param(p + ".running_mean");
    conv->bn_var = param(p + ".running_var");
  }

  void relu(const Node& nd, int n) {
    Layer* p = sole_producer(nd.a);
    bool fusable = p && !p->relu &&
                   (p->kind == LayerKind::conv || p->kind == LayerKind::affine ||
                    p->kind == LayerKind::add || p->kind == LayerKind::linear);
    if (fusable) {
      p->relu = true;
      value_of[n] = value(nd.a);
      return;
    }
    emit(base(LayerKind::relu, nd), n);
  }

  // A conv that can take a residual in its epilogue.
  Layer* epilogue_conv(int operand) {
    Layer* p = sole_producer(operand);
    if (!p || p->kind != LayerKind::conv || p->relu || p->residual != Residual::none) return nullptr;
    return p;
  }

  // Layer index of the producer of node `n`'s value (-1 for the network input).
  int produced_at(int n) { return producer_of[value(n)]; }

  void add(const Node& nd, int n) {
    // The conv runs where it stands, so the other operand must be ready by then. Prefer the
    // operand computed last.
    int a = nd.a, b = nd.b;
    Layer* ca = value_of[a] >= 0 ? epilogue_conv(a) : nullptr;
    Layer* cb = value_of[b] >= 0 ? epilogue_conv(b) : nullptr;
    if (ca && cb && producer_of[value_of[b]] > producer_of[value_of[a]]) ca = nullptr;
    if (!ca && cb) std::swap(a, b), std::swap(ca, cb);
    if (ca) {
      const Node& other = net.nodes()[b];
      int conv_at = static_cast<int>(ca - out.layers.data());
      bool fuse_pad = other.op == Op::pad_channels && value_of[b] < 0 && consumers[b] == 1;
      int ready_at = fuse_pad ? produced_at(other.a) : produced_at(b);
      ca = &out.layers[conv_at];  // value() may have emitted layers and moved the vector
      if (ready_at < conv_at) {
        if (fuse_pad) {
          ca->residual = Residual::subsample_pad;
          ca->res_value = value(other.a);
          ca->res = net.nodes()[other.a].shape;
          ca->res_stride = other.stride;
          ca->res_pad_before = other.pad_before;
        } else {
          ca->residual = Residual::same;
          ca->res_value = value(b);
          ca->res = other.shape;
        }
        value_of[n] = value_of[a];
        return;
      }
    }
    Layer l = base(LayerKind::add, nd);
    l.residual = Residual::same;
    l.res_value = value(nd.b);
    l.res = net.nodes()[nd.b].shape;
    emit(std::move(l), n);
  }

  void linear(const Node& nd, int n) {
    // Look through flatten: the linear layer reads the NHWC value in PyTorch's flatten order.
    int src = nd.a;
    while (net.nodes()[src].op == Op::flatten) src = net.nodes()[src].a;
    Layer l = base(LayerKind::linear, nd);
    l.in = net.nodes()[src].shape;
    l.input = value(src);
    l.weight = param(nd.name.str() + ".weight");
    l.bias = param(nd.name.str() + ".bias");
    emit(std::move(l), n);
  }

  void flatten(const Node& nd, int n) {
    const Shape s = net.nodes()[nd.a].shape;
    value_of[n] = value(nd.a);
    bool only_linear = true;
    for (std::size_t j = n + 1; j < net.nodes().size(); ++j)
      if (net.nodes()[j].a == n || net.nodes()[j].b == n)
        only_linear = only_linear && net.nodes()[j].op == Op::linear;
    if ((s.h != 1 || s.w != 1) && !only_linear)
      throw dsl::SpecError("network " + out.network + ", flatten " + nd.name.str() + ": a flattened " +
                           dsl::to_string(s).str() + " value can only feed linear layers");
  }

  void run() {
    const auto& nodes = net.nodes();
    consumers.assign(nodes.size(), 0);
    for (const Node& nd : nodes) {
      if (nd.a >= 0) ++consumers[nd.a];
      if (nd.b >= 0) ++consumers[nd.b];
    }
    ++consumers[net.output()];  // the caller reads the output
    for (std::size_t i = 0; i < out.params.size(); ++i) param_index[out.params[i].key] = static_cast<int>(i);
    value_of.assign(nodes.size(), -1);

    // Value 0 is the caller's NCHW input; with one channel NCHW is NHWC already.
    int in = new_value(out.input);
    out.values[in].placement = Placement::input;
    if (out.input.c == 1) {
      value_of[0] = in;
    } else {
      Layer l;
      l.kind = LayerKind::to_nhwc;
      l.name = "input.to_nhwc";
      l.in = l.out = out.input;
      l.input = in;
      emit(std::move(l), 0);
    }

    for (std::size_t i = 1; i < nodes.size(); ++i) {
      const Node& nd = nodes[i];
      int n = static_cast<int>(i);
      switch (nd.op) {
        case Op::input: break;
        case Op::conv2d: conv(nd, n); break;
        case Op::batch_norm: batch_norm(nd, n); break;
        case Op::relu: relu(nd, n); break;
        case Op::add: add(nd, n); break;
        case Op::max_pool: emit(base(LayerKind::max_pool, nd), n); break;
        case Op::avg_pool: emit(base(LayerKind::avg_pool, nd), n); break;
        case Op::global_avg_pool: emit(base(LayerKind::global_avg_pool, nd), n); break;
        case Op::linear: linear(nd, n); break;
        case Op::flatten: flatten(nd, n); break;
        case Op::pad_channels: break;  // materialized on first use (or fused into an add)
      }
    }

    int result = value(net.output());
    const Shape s = nodes[net.output()].shape;
    if (s.h != 1 || s.w != 1 || result == 0 || producer_of[result] < 0)
      throw dsl::SpecError("network " + out.network + ": the output " + nodes[net.output()].name.str() +
                           " is " + dsl::to_string(s).str() +
                           "; resgen networks end in a vector of logits (Kx1x1), e.g. a linear layer");
    out.values[result].placement = Placement::output;
    out.classes = s.c;
  }
};

}  // namespace

void build_layers(const dsl::Network& net, Lowered& out) {
  Builder b(net, out);
  b.run();
}

}  // namespace resgen
