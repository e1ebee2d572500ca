#include "generator/tables.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "generator/error.hpp"

namespace resgen {

uint32_t Tables::intern(const std::string& s) {
  auto [it, added] = offsets_.try_emplace(s, static_cast<uint32_t>(strings.size()));
  if (added) {
    strings += s;
    strings += '\0';
  }
  return it->second;
}

Tables::Tables(const Lowered& l) {
  for (const Param& p : l.params) {
    if (p.key.size() >= RG_MAX_KEY || p.shape.size() > 4)
      throw Error(fmt::format("parameter '{}': keys are limited to {} characters and 4 dimensions", p.key,
                              RG_MAX_KEY - 1));
    std::size_t dot = p.key.rfind('.');
    if (dot == std::string::npos) dot = p.key.size();
    rg_param_desc d{};
    d.key_prefix = intern(p.key.substr(0, dot));
    d.key_suffix = intern(p.key.substr(dot));
    d.ndim = static_cast<int32_t>(p.shape.size());
    for (int i = 0; i < d.ndim; ++i) {
      if (p.shape[i] > INT32_MAX) throw Error(fmt::format("parameter '{}' is too large", p.key));
      d.shape[i] = static_cast<int32_t>(p.shape[i]);
    }
    params.push_back(d);
  }
  auto same = [](const Shape& a, const Shape& b) { return a.c == b.c && a.h == b.h && a.w == b.w; };
  for (const Layer& y : l.layers) {
    // The runtime reads a layer's shapes from its values.
    if (!same(l.values[y.input].shape, y.in) || !same(l.values[y.output].shape, y.out) ||
        (y.res_value >= 0 && !same(l.values[y.res_value].shape, y.res)))
      throw Error(fmt::format("internal error: layer {} disagrees with the shapes of its values", y.name));
    rg_layer_desc d{};
    d.kind = static_cast<int32_t>(y.kind);
    d.name = intern(y.name);
    d.kernel_id = y.kernel_id;
    d.ksize = y.kernel, d.groups = y.groups;
    d.input = y.input, d.residual = y.res_value, d.output = y.output;
    d.weight = y.weight, d.bias = y.bias;
    d.bn_gamma = y.bn_gamma, d.bn_beta = y.bn_beta, d.bn_mean = y.bn_mean, d.bn_var = y.bn_var;
    d.packed_weights = y.packed_weights, d.packed_bias = y.packed_bias;
    layers.push_back(d);
  }
  for (const ValueInfo& v : l.values)
    values.push_back(
        rg_value_desc{v.shape.c, v.shape.h, v.shape.w, static_cast<int>(v.placement), v.offset, v.late_offset});
  net.name = l.network.c_str();
  net.in_c = l.input.c, net.in_h = l.input.h, net.in_w = l.input.w;
  net.classes = l.classes;
  net.num_params = static_cast<int>(params.size());
  net.num_layers = static_cast<int>(layers.size());
  net.num_values = static_cast<int>(values.size());
  net.num_kernels = static_cast<int>(l.kernels.size());
  net.strings = strings.c_str();
  net.params = params.data();
  net.layers = layers.data();
  net.values = values.data();
  net.kernels = nullptr;
  net.arena_floats = l.arena_floats;
  net.late_start = l.late_start;
  net.late_input = l.late_input;
  net.late_arena_floats = l.late_arena_floats;
  for (const ValueInfo& v : l.values) net.largest_value_floats = std::max<int64_t>(net.largest_value_floats, v.shape.elements());
  net.packed_floats = l.packed_floats;
}

// A C string literal. Octal escapes are always three digits, so a following digit is safe;
// `?` is escaped too, so no trigraph can form.
static std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\')
      out += {'\\', static_cast<char>(c)};
    else if (c < 32 || c >= 127 || c == '?')
      out += fmt::format("\\{:03o}", c);
    else
      out += static_cast<char>(c);
  }
  return out + "\"";
}

namespace {

void put_varint(std::string& out, uint64_t v) {
  do {
    unsigned char b = v & 0x7f;
    v >>= 7;
    out += static_cast<char>(b | (v ? 0x80 : 0));
  } while (v);
}

void put_zigzag(std::string& out, int64_t v) {
  put_varint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

// What a table's decoder predicts for row i from the rows before it (runtime/tables.inc,
// rg_decode_rows): a deep network repeats its blocks, so row i is row i - period plus that
// row's own change over one period; the first two periods fall back to simpler guesses.
int64_t predicted(const std::vector<std::vector<int64_t>>& rows, std::size_t i, std::size_t f, std::size_t period) {
  if (i >= 2 * period) return 2 * rows[i - period][f] - rows[i - 2 * period][f];
  if (i >= period) return rows[i - period][f];
  return i ? rows[i - 1][f] : 0;
}

// Records of int64 fields with the given period: then, until every row is written, the number
// of rows that equal their prediction, and (unless that ends the table) one row's differences
// from its prediction.
std::string rows_with_period(const std::vector<std::vector<int64_t>>& rows, std::size_t period) {
  std::string out;
  put_varint(out, period);
  auto exact = [&](std::size_t i) {
    for (std::size_t f = 0; f < rows[i].size(); ++f)
      if (rows[i][f] != predicted(rows, i, f, period)) return false;
    return true;
  };
  for (std::size_t i = 0; i < rows.size();) {
    std::size_t run = 0;
    while (i + run < rows.size() && exact(i + run)) ++run;
    put_varint(out, run);
    i += run;
    if (i == rows.size()) break;
    for (std::size_t f = 0; f < rows[i].size(); ++f) put_zigzag(out, rows[i][f] - predicted(rows, i, f, period));
    ++i;
  }
  return out;
}

// The shortest encoding over periods 1 to 64 (a thousand-layer network's block is 4 to 12 layers).
void put_rows(std::string& out, const std::vector<std::vector<int64_t>>& rows) {
  std::string best = rows_with_period(rows, 1);
  for (std::size_t period = 2; period <= 64 && period <= rows.size(); ++period)
    if (std::string s = rows_with_period(rows, period); s.size() < best.size()) best = std::move(s);
  out += best;
}

}  // namespace

std::string Tables::encode() const {
  std::string out;
  std::vector<std::string_view> names;
  for (std::size_t at = 0; at < strings.size(); at = strings.find('\0', at) + 1)
    names.emplace_back(strings.data() + at, strings.find('\0', at) - at);
  put_varint(out, strings.size());
  put_varint(out, names.size());
  std::string_view prev;
  for (std::string_view n : names) {
    std::size_t shared = 0;
    while (shared < n.size() && shared < prev.size() && n[shared] == prev[shared]) ++shared;
    put_varint(out, shared);
    put_varint(out, n.size() - shared);
    out += n.substr(shared);
    prev = n;
  }
  std::vector<std::vector<int64_t>> rows;
  for (const rg_param_desc& p : params)
    rows.push_back({p.key_prefix, p.key_suffix, p.ndim, p.shape[0], p.shape[1], p.shape[2], p.shape[3]});
  put_rows(out, rows);
  rows.clear();
  for (const rg_layer_desc& d : layers)
    rows.push_back({d.kind, d.name, d.kernel_id, d.ksize, d.groups, d.input, d.residual, d.output, d.weight, d.bias,
                    d.bn_gamma, d.bn_beta, d.bn_mean, d.bn_var, d.packed_weights, d.packed_bias});
  put_rows(out, rows);
  rows.clear();
  for (const rg_value_desc& v : values) rows.push_back({v.c, v.h, v.w, v.placement, v.offset, v.late_offset});
  put_rows(out, rows);
  return out;
}

std::string tables_source(const Lowered& l, const Tables& t, const std::string& prefix) {
  std::string s;
  s += "extern \"C\" {\n";
  for (std::size_t k = 0; k < l.kernels.size(); ++k)
    s += fmt::format("int {}_k{}_argv(void** args);  // {}\n", prefix, k, l.kernels[k].signature);
  s += "}\n\nstatic const rg_kernel_fn rg_kernels[] = {\n";
  for (std::size_t k = 0; k < l.kernels.size(); ++k) s += fmt::format("  {}_k{}_argv,\n", prefix, k);
  s += "};\n\n// The strings, params, layers and values, encoded (tables.inc decodes them).\n";
  s += "static const unsigned char rg_encoded[] =\n";
  std::string bytes = t.encode();
  for (std::size_t at = 0; at < bytes.size(); at += 64) s += "  " + quoted(bytes.substr(at, 64)) + "\n";
  s += "  \"\";\n\n";
  s += fmt::format(
      "static rg_net_desc rg_net = {{{}, {}, {}, {}, {}, {}, {}, {}, {}, NULL, NULL, NULL, NULL, rg_kernels, {}, {}, {}, {}, "
      "{}, {}, rg_encoded}};\n",
      quoted(t.net.name), t.net.in_c, t.net.in_h, t.net.in_w, t.net.classes, t.net.num_params,
      t.net.num_layers, t.net.num_values, t.net.num_kernels, t.net.arena_floats, t.net.late_start,
      t.net.late_input, t.net.late_arena_floats, t.net.largest_value_floats, t.net.packed_floats);
  return s;
}

}  // namespace resgen
