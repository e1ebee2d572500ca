#include "generator/tables.hpp"

#include <fmt/format.h>

namespace resgen {

Tables::Tables(const Lowered& l) {
  for (const Param& p : l.params) {
    rg_param_desc d{};
    d.key = p.key.c_str();
    d.ndim = static_cast<int>(p.shape.size());
    for (int i = 0; i < d.ndim; ++i) d.shape[i] = p.shape[i];
    params.push_back(d);
  }
  for (const Layer& y : l.layers) {
    rg_layer_desc d{};
    d.kind = static_cast<int>(y.kind);
    d.name = y.name.c_str();
    d.kernel_id = y.kernel_id;
    d.in_c = y.in.c, d.in_h = y.in.h, d.in_w = y.in.w;
    d.out_c = y.out.c, d.out_h = y.out.h, d.out_w = y.out.w;
    d.res_c = y.res.c, d.res_h = y.res.h, d.res_w = y.res.w;
    d.ksize = y.kernel, d.groups = y.groups;
    d.input = y.input, d.residual = y.res_value, d.output = y.output;
    d.weight = y.weight, d.bias = y.bias;
    d.bn_gamma = y.bn_gamma, d.bn_beta = y.bn_beta, d.bn_mean = y.bn_mean, d.bn_var = y.bn_var;
    d.packed_weights = y.packed_weights, d.packed_bias = y.packed_bias;
    d.weights_size = y.weights_size, d.bias_size = y.bias_size;
    layers.push_back(d);
  }
  for (const ValueInfo& v : l.values)
    values.push_back(rg_value_desc{v.shape.c, v.shape.h, v.shape.w, static_cast<int>(v.placement), v.offset});
  net.name = l.network.c_str();
  net.in_c = l.input.c, net.in_h = l.input.h, net.in_w = l.input.w;
  net.classes = l.classes;
  net.num_params = static_cast<int>(params.size());
  net.num_layers = static_cast<int>(layers.size());
  net.num_values = static_cast<int>(values.size());
  net.num_kernels = static_cast<int>(l.kernels.size());
  net.params = params.data();
  net.layers = layers.data();
  net.values = values.data();
  net.kernels = nullptr;
  net.arena_floats = l.arena_floats;
  net.packed_floats = l.packed_floats;
}

static std::string quoted(const char* s) {
  std::string out = "\"";
  for (const char* p = s; *p; ++p) {
    if (*p == '"' || *p == '\\') out += '\\';
    out += *p;
  }
  return out + "\"";
}

std::string tables_source(const Lowered& l, const Tables& t, const std::string& prefix) {
  std::string s;
  s += "extern \"C\" {\n";
  for (std::size_t k = 0; k < l.kernels.size(); ++k)
    s += fmt::format("int {}_k{}_argv(void** args);  // {}\n", prefix, k, l.kernels[k].signature);
  s += "}\n\nstatic const rg_param_desc rg_params[] = {\n";
  for (const rg_param_desc& p : t.params)
    s += fmt::format("  {{{}, {}, {{{}, {}, {}, {}}}}},\n", quoted(p.key), p.ndim, p.shape[0], p.shape[1],
                     p.shape[2], p.shape[3]);
  if (t.params.empty()) s += "  {\"\", 0, {0, 0, 0, 0}},\n";
  s += "};\n\nstatic const rg_layer_desc rg_layers[] = {\n";
  for (const rg_layer_desc& d : t.layers)
    s += fmt::format(
        "  {{{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}}},\n",
        d.kind, quoted(d.name), d.kernel_id, d.in_c, d.in_h, d.in_w, d.out_c, d.out_h, d.out_w, d.res_c,
        d.res_h, d.res_w, d.ksize, d.groups, d.input, d.residual, d.output, d.weight, d.bias, d.bn_gamma,
        d.bn_beta, d.bn_mean, d.bn_var, d.packed_weights, d.packed_bias, d.weights_size, d.bias_size);
  s += "};\n\nstatic const rg_value_desc rg_values[] = {\n";
  for (const rg_value_desc& v : t.values)
    s += fmt::format("  {{{}, {}, {}, {}, {}}},\n", v.c, v.h, v.w, v.placement, v.offset);
  s += "};\n\nstatic const rg_kernel_fn rg_kernels[] = {\n";
  for (std::size_t k = 0; k < l.kernels.size(); ++k) s += fmt::format("  {}_k{}_argv,\n", prefix, k);
  s += "};\n\n";
  s += fmt::format(
      "static const rg_net_desc rg_net = {{{}, {}, {}, {}, {}, {}, {}, {}, {}, rg_params, rg_layers, rg_values, "
      "rg_kernels, {}, {}}};\n",
      quoted(t.net.name), t.net.in_c, t.net.in_h, t.net.in_w, t.net.classes, t.net.num_params,
      t.net.num_layers, t.net.num_values, t.net.num_kernels, t.net.arena_floats, t.net.packed_floats);
  return s;
}

}  // namespace resgen
