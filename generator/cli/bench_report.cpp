#include "generator/cli/bench_report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "generator/error.hpp"

namespace resgen::cli {
namespace fs = std::filesystem;

namespace {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

}  // namespace

double layer_flops(const Layer& l) {
  switch (l.kind) {
    case LayerKind::conv:
      return 2.0 * l.out.elements() * (l.in.c / l.groups) * l.kernel * l.kernel;
    case LayerKind::linear:
      return 2.0 * l.out.c * l.in.elements();
    case LayerKind::max_pool:
    case LayerKind::avg_pool:
      return 1.0 * l.out.elements() * l.kernel * l.kernel;
    case LayerKind::global_avg_pool:
      return 1.0 * l.in.elements();
    case LayerKind::affine:
      return 2.0 * l.out.elements();
    default:
      return 1.0 * l.out.elements();
  }
}

Agreement agree(const std::vector<float>& y, const std::vector<float>& ref, int rows, int classes) {
  Agreement a;
  double ref_max = 0;
  for (float r : ref) ref_max = std::max(ref_max, std::fabs(static_cast<double>(r)));
  a.tolerance = 1e-3 * std::max(1.0, ref_max);
  for (std::size_t i = 0; i < y.size(); ++i) {
    double d = std::fabs(static_cast<double>(y[i]) - ref[i]);
    if (!(d <= a.max_diff)) a.max_diff = std::isnan(d) ? INFINITY : d;
  }
  for (int r = 0; r < rows; ++r) {
    const float* yr = &y[static_cast<std::size_t>(r) * classes];
    const float* rr = &ref[static_cast<std::size_t>(r) * classes];
    int best = static_cast<int>(std::max_element(rr, rr + classes) - rr);
    double second = -INFINITY;
    for (int k = 0; k < classes; ++k)
      if (k != best) second = std::max(second, static_cast<double>(rr[k]));
    if (rr[best] - second > 2 * a.tolerance && std::max_element(yr, yr + classes) - yr != best)
      ++a.argmax_mismatches;
  }
  return a;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

std::vector<PipelineTime> per_pipeline(const Lowered& lowered, const std::vector<double>& layer_seconds, int batch,
                                       double* total) {
  std::map<int, PipelineTime> by_kernel;
  *total = 0;
  for (std::size_t i = 0; i < lowered.layers.size(); ++i) {
    const Layer& l = lowered.layers[i];
    PipelineTime& p = by_kernel[l.kernel_id];
    p.signature = lowered.kernels[l.kernel_id].signature;
    p.layers.push_back(l.name);
    p.seconds += layer_seconds[i];
    p.flops += layer_flops(l) * batch;
    *total += layer_seconds[i];
  }
  std::vector<PipelineTime> rows;
  for (auto& [k, p] : by_kernel) rows.push_back(p);
  std::sort(rows.begin(), rows.end(), [](const PipelineTime& a, const PipelineTime& b) { return a.seconds > b.seconds; });
  return rows;
}

void print_per_pipeline(std::ostream& out, const std::vector<PipelineTime>& rows, double total, double peak,
                        int profiled) {
  out << fmt::format(
      "\nper pipeline (resgen, {} profiled runs in the rounds; medians per layer, summing to {:.2f} ms), "
      "worst first:\n",
      profiled, 1e3 * total);
  out << fmt::format("{:>6} {:>8} {:>9} {:>7} {:>6}  {}\n", "share", "ms", "GFLOP/s", "% peak", "layers", "pipeline");
  for (const PipelineTime& p : rows) {
    double gflops = p.seconds > 0 ? p.flops / p.seconds / 1e9 : 0.0;
    out << fmt::format("{:>5.1f}% {:>8.3f} {:>9.1f} {:>6.1f}% {:>6}  {}  ({}{})\n", 100 * p.seconds / total,
                       1e3 * p.seconds, gflops, 100 * gflops / peak, p.layers.size(), p.signature, p.layers[0],
                       p.layers.size() > 1 ? ", ..." : "");
  }
}

void write_svg(const fs::path& path, const std::string& title, const std::vector<PipelineTime>& rows,
               double total, double peak) {
  const int row_h = 22, top = 56, label_w = 430, bar_w = 380, width = label_w + bar_w + 330;
  double worst = rows.empty() ? 1.0 : rows.front().seconds / total;
  std::ostringstream s;
  s << fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"monospace\" "
      "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, top + row_h * static_cast<int>(rows.size()) + 20);
  s << fmt::format("<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
                   xml_escape(title));
  s << fmt::format(
      "<text x=\"10\" y=\"40\">share of the time per pipeline, worst first; bar colour: % of the fp32 peak "
      "({:.1f} GFLOP/s); layers: median over the profiled runs</text>\n",
      peak);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const PipelineTime& r = rows[i];
    double share = r.seconds / total, gflops = (r.seconds > 0 ? r.flops / r.seconds / 1e9 : 0.0),
           pct = 100.0 * gflops / peak;
    int y = top + row_h * static_cast<int>(i);
    double w = std::max(1.0, bar_w * share / worst);
    // Red for a low fraction of peak, green for a high one.
    int red = static_cast<int>(220 - std::min(1.0, pct / 60.0) * 180),
        green = static_cast<int>(60 + std::min(1.0, pct / 60.0) * 140);
    std::string label = r.signature + fmt::format(" x{}", r.layers.size());
    s << fmt::format("<g><title>{}: {}</title>\n", xml_escape(r.signature),
                     xml_escape(fmt::format("{}", fmt::join(r.layers, " "))));
    s << fmt::format("<text x=\"10\" y=\"{}\">{}</text>\n", y + 15, xml_escape(label.substr(0, 60)));
    s << fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"rgb({},{},60)\"/>\n",
                     label_w, y + 3, w, row_h - 6, red, green);
    s << fmt::format(
        "<text x=\"{:.1f}\" y=\"{}\">{:.1f}%  {:.2f} ms  {:.1f} GFLOP/s  {:.1f}% of peak</text>\n</g>\n",
        label_w + w + 6, y + 15, 100 * share, 1e3 * r.seconds, gflops, pct);
  }
  s << "</svg>\n";
  std::ofstream out(path);
  out << s.str();
  if (!out) throw Error("bench: cannot write " + path.string());
}

}  // namespace resgen::cli
