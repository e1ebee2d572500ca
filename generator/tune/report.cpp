// The tuning report: best time against trials per signature, and the network's estimated
// latency with each schedule source (tuner.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "generator/tune/tuner.hpp"

namespace resgen::tune {
namespace {

const char* kSources[] = {"manual", "auto:Adams2019", "auto:Mullapudi2016", "auto:Li2018", "auto:Anderson2021"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

// Sum over signatures of layers x time; a signature without `source` counts its manual time
// (marked by `complete` = false).
double network_ms(const std::vector<SignatureReport>& sigs, const std::string& source, bool* complete) {
  double total = 0;
  *complete = true;
  for (const SignatureReport& s : sigs) {
    double t = 0;
    if (source == "tuned") t = s.best_ms;
    else if (auto it = s.baselines.find(source); it != s.baselines.end()) t = it->second;
    if (t <= 0) {
      *complete = false;
      auto m = s.baselines.find("manual");
      t = m != s.baselines.end() ? m->second : s.best_ms;
    }
    total += s.count * t;
  }
  return total;
}

// A best-so-far staircase of (trial, ms), with the manual time as a dashed line.
std::string svg_curve(const SignatureReport& s) {
  const int w = 360, h = 140, pad = 36;
  if (s.curve.empty()) return "<p>no verified candidate</p>";
  double ymax = 0, ymin = 1e30;
  int xmax = std::max(1, s.trials);
  for (auto [t, ms] : s.curve) ymax = std::max(ymax, ms), ymin = std::min(ymin, ms);
  if (auto m = s.baselines.find("manual"); m != s.baselines.end()) ymax = std::max(ymax, m->second);
  ymin = std::min(ymin, ymax) * 0.9;
  auto X = [&](double t) { return pad + (w - pad - 8) * t / xmax; };
  auto Y = [&](double ms) { return 8 + (h - pad - 8) * (1 - (ms - ymin) / std::max(1e-9, ymax - ymin)); };
  std::ostringstream o;
  o << fmt::format("<svg width='{}' height='{}' xmlns='http://www.w3.org/2000/svg' font-size='10'>", w, h);
  o << fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='#888'/>", pad, h - pad, w - 8, h - pad);
  o << fmt::format("<line x1='{}' y1='8' x2='{}' y2='{}' stroke='#888'/>", pad, pad, h - pad);
  std::string path;
  double last = s.curve.front().second;
  for (auto [t, ms] : s.curve) {
    path += fmt::format("{}{:.1f},{:.1f} ", path.empty() ? "M" : "L", X(t), Y(last));
    path += fmt::format("L{:.1f},{:.1f} ", X(t), Y(ms));
    last = ms;
  }
  path += fmt::format("L{:.1f},{:.1f}", X(xmax), Y(last));
  o << "<path d='" << path << "' fill='none' stroke='#1565c0' stroke-width='2'/>";
  if (auto m = s.baselines.find("manual"); m != s.baselines.end())
    o << fmt::format("<line x1='{}' y1='{:.1f}' x2='{}' y2='{:.1f}' stroke='#c62828' stroke-dasharray='4'/>", pad,
                     Y(m->second), w - 8, Y(m->second));
  o << fmt::format("<text x='{}' y='{}'>{:.3g} ms</text>", 2, Y(ymax) + 4, ymax);
  o << fmt::format("<text x='{}' y='{}'>{:.3g} ms</text>", 2, Y(ymin), ymin);
  o << fmt::format("<text x='{}' y='{}'>trials: {}</text>", w / 2, h - 10, xmax);
  o << "</svg>";
  return o.str();
}

std::string cell(const SignatureReport& s, const std::string& src) {
  auto it = s.baselines.find(src);
  return it == s.baselines.end() ? "-" : fmt::format("{:.4f}", it->second);
}

}  // namespace

std::string text_report(const std::vector<SignatureReport>& sigs) {
  std::ostringstream o;
  o << fmt::format("{:<58} {:>3} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6}  {}\n", "signature", "n", "manual",
                   "Adams", "Mullapudi", "Li", "tuned", "speed", "trials", "best");
  for (const SignatureReport& s : sigs) {
    auto m = s.baselines.find("manual");
    double speed = m != s.baselines.end() && s.best_ms > 0 ? m->second / s.best_ms : 0;
    o << fmt::format("{:<58} {:>3} {:>9} {:>9} {:>9} {:>9} {:>9.4f} {:>5.2f}x {:>6}  {}\n", s.signature.substr(0, 58),
                     s.count, cell(s, "manual"), cell(s, "auto:Adams2019"), cell(s, "auto:Mullapudi2016"),
                     cell(s, "auto:Li2018"), s.best_ms, speed, s.trials, s.best_key);
  }
  for (const char* src : kSources) {
    bool complete = false;
    double t = network_ms(sigs, src, &complete);
    bool any = std::any_of(sigs.begin(), sigs.end(), [&](const SignatureReport& s) { return s.baselines.count(src); });
    if (any)
      o << fmt::format("network, {}: {:.2f} ms (sum of kernel times){}\n", src, t,
                       complete ? "" : " (manual where it has no measurement)");
  }
  bool complete = false;
  o << fmt::format("network, tuned: {:.2f} ms (sum of kernel times)\n", network_ms(sigs, "tuned", &complete));
  return o.str();
}

std::string html_report(const std::string& network, const std::string& target,
                        const std::vector<SignatureReport>& all) {
  std::ostringstream o;
  const SignatureReport& net = all.front();
  std::vector<SignatureReport> sigs(all.begin() + 1, all.end());
  o << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>resgen tune " << escape(network)
    << "</title><style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:right}"
       "td:first-child{text-align:left}.sig{display:inline-block;margin:8px;vertical-align:top}</style></head><body>";
  o << "<h1>resgen tune " << escape(network) << "</h1><p>target " << escape(target)
    << "; times are the fastest timed runs of JIT-compiled kernels at batch 1, measured one at a time; the network's latency is "
       "estimated as the sum over kernels of (layers using it) x (kernel time).</p>";
  o << "<h2>Network latency (estimated)</h2><table><tr><th>schedule</th><th>ms</th><th>vs manual</th></tr>";
  bool complete = false;
  double manual = network_ms(sigs, "manual", &complete);
  for (const char* src : kSources) {
    bool any = std::any_of(sigs.begin(), sigs.end(), [&](const SignatureReport& s) { return s.baselines.count(src); });
    if (!any) continue;
    double t = network_ms(sigs, src, &complete);
    o << fmt::format("<tr><td>{}{}</td><td>{:.2f}</td><td>{:.2f}x</td></tr>", src,
                     complete ? "" : " (manual where it failed)", t, manual / t);
  }
  double tuned = network_ms(sigs, "tuned", &complete);
  o << fmt::format("<tr><td><b>tuned</b></td><td><b>{:.2f}</b></td><td><b>{:.2f}x</b></td></tr></table>", tuned,
                   manual / tuned);
  o << "<p>Estimated latency against the records measured (this database's, in order):</p>" << svg_curve(net);
  o << "<h2>Kernels</h2><table><tr><th>signature</th><th>layers</th><th>manual</th><th>Adams2019</th>"
       "<th>Mullapudi2016</th><th>Li2018</th><th>tuned</th><th>best schedule</th><th>trials</th><th>failed</th></tr>";
  for (const SignatureReport& s : sigs)
    o << fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4f}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>",
        escape(s.signature), s.count, cell(s, "manual"), cell(s, "auto:Adams2019"), cell(s, "auto:Mullapudi2016"),
        cell(s, "auto:Li2018"), s.best_ms, escape(s.best_key), s.trials, s.failed);
  o << "</table><h2>Best time (ms) against trials, per kernel</h2><p>blue: best verified so far; red dashes: the "
       "manual schedule</p>";
  for (const SignatureReport& s : sigs)
    o << "<div class='sig'><div>" << escape(s.signature) << " (x" << s.count << ")</div>" << svg_curve(s) << "</div>";
  o << "</body></html>\n";
  return o.str();
}

}  // namespace resgen::tune
