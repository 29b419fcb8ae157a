// attribution.cpp: see attribution.h.
#include "profiling/attribution.h"

#include <algorithm>
#include <boost/json.hpp>
#include <unordered_map>

namespace skipbench::prof {

Attribution attribute(const std::vector<ActivityRecord>& records, const std::vector<CorrelationRecord>& corr,
                      const std::vector<std::string>& paths) {
  std::unordered_map<uint64_t, uint64_t> ext;  // correlation id -> range id
  for (const auto& c : corr) ext[c.correlation_id] = c.external_id;
  Attribution a;
  for (const auto& r : records) {
    const double s = r.end_ns > r.start_ns ? static_cast<double>(r.end_ns - r.start_ns) * 1e-9 : 0.0;
    std::string path = "(unattributed)";
    auto it = ext.find(r.correlation_id);
    if (it != ext.end() && it->second < paths.size()) path = paths[it->second];
    auto& self = a.by_path[path];
    self.self_gpu_s += s;
    auto& n = self.by_name[r.name];
    n.first += s;
    ++n.second;
    // inclusive: this path and every ancestor
    for (std::string p = path;;) {
      auto& t = a.by_path[p];
      t.gpu_s += s;
      ++t.records;
      const auto slash = p.rfind('/');
      if (slash == std::string::npos) break;
      p = p.substr(0, slash);
    }
    a.total_gpu_s += s;
    ++a.total_records;
  }
  return a;
}

boost::json::object Attribution::to_json(size_t top) const {
  boost::json::array rows;
  for (const auto& [path, t] : by_path) {
    std::vector<std::pair<std::string, std::pair<double, int64_t>>> names(t.by_name.begin(), t.by_name.end());
    std::sort(names.begin(), names.end(), [](auto& x, auto& y) { return x.second.first > y.second.first; });
    boost::json::array tk;
    for (size_t i = 0; i < names.size() && i < top; ++i)
      tk.push_back(boost::json::object{{"name", names[i].first}, {"gpu_s", names[i].second.first}, {"count", names[i].second.second}});
    rows.push_back(boost::json::object{{"path", path}, {"gpu_s", t.gpu_s}, {"self_gpu_s", t.self_gpu_s},
                                       {"records", t.records}, {"top_kernels", tk}});
  }
  return {{"total_gpu_s", total_gpu_s}, {"total_records", total_records}, {"ranges", rows}};
}

}  // namespace skipbench::prof
