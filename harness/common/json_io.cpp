// json_io.cpp: see json_io.h.
#include "harness/common/json_io.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <system_error>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <utility>
#include <vector>
#include <sstream>

#include "harness/common/error.h"
#include "harness/common/fs.h"

namespace skipbench {
namespace json = boost::json;

namespace {
void line_col(const std::string& text, size_t offset, size_t& line, size_t& col) {
  line = 1;
  col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
}

// Numbers as people write them: shortest round-trip form (0.51, 1024, 1e-10), not Boost's 5.1E-1; NaN/inf -> null.
void number(std::ostringstream& os, double d) {
  if (!std::isfinite(d)) {
    os << "null";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  os.write(buf, r.ptr - buf);
}

void compact(std::ostringstream& os, const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: number(os, v.get_double()); return;
    case json::kind::object: {
      os << '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        os << (first ? "" : ",") << json::serialize(json::value(kv.key())) << ':';
        compact(os, kv.value());
        first = false;
      }
      os << '}';
      return;
    }
    case json::kind::array: {
      os << '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        os << (first ? "" : ",");
        compact(os, e);
        first = false;
      }
      os << ']';
      return;
    }
    default: os << json::serialize(v);
  }
}

void pretty(std::ostringstream& os, const json::value& v, int indent) {
  const std::string pad(indent, ' ');
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        os << "{}";
        return;
      }
      os << "{\n";
      size_t i = 0;
      for (const auto& kv : o) {
        os << pad << "  " << json::serialize(json::value(kv.key())) << ": ";
        pretty(os, kv.value(), indent + 2);
        os << (++i < o.size() ? ",\n" : "\n");
      }
      os << pad << "}";
      return;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      bool flat = true;
      for (const auto& e : a) flat = flat && !e.is_object() && !e.is_array();
      if (flat) {  // arrays of numbers and strings stay on one line
        compact(os, v);
        return;
      }
      os << "[\n";
      for (size_t i = 0; i < a.size(); ++i) {
        os << pad << "  ";
        pretty(os, a[i], indent + 2);
        os << (i + 1 < a.size() ? ",\n" : "\n");
      }
      os << pad << "]";
      return;
    }
    default:
      compact(os, v);
  }
}
}  // namespace

namespace {
// The JSON path ("a.b[2]") of the first non-finite number in v, or "" when there is none.
std::string first_non_finite(const json::value& v, const std::string& at) {
  if (v.is_double() && !std::isfinite(v.get_double())) return at.empty() ? "(top level)" : at;
  if (v.is_object())
    for (const auto& kv : v.get_object()) {
      auto w = first_non_finite(kv.value(), at.empty() ? std::string(kv.key()) : at + "." + std::string(kv.key()));
      if (!w.empty()) return w;
    }
  if (v.is_array())
    for (size_t i = 0; i < v.get_array().size(); ++i) {
      auto w = first_non_finite(v.get_array()[i], at + "[" + std::to_string(i) + "]");
      if (!w.empty()) return w;
    }
  return "";
}
// The first key that appears twice in one object, with its offset, or nothing. Boost.JSON 1.81 keeps one of the
// two silently, so {"lr": 0.1, "lr": 0.001} would train with a value the user may not have meant (issue 14). The
// text has already parsed (comments and trailing commas allowed), so this scanner only tracks strings, comments
// and nesting; a key is the string read where an object expects one, compared decoded ("\u0061" equals "a").
std::optional<std::pair<std::string, size_t>> first_duplicate_key(const std::string& t) {
  struct Level {
    bool object;
    bool expect_key;
    std::set<std::string> keys;
  };
  std::vector<Level> stack;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '/' && i + 1 < t.size() && (t[i + 1] == '/' || t[i + 1] == '*')) {
      const bool line = t[i + 1] == '/';
      const size_t end = line ? t.find('\n', i + 2) : t.find("*/", i + 2);
      if (end == std::string::npos) break;
      i = line ? end : end + 1;
    } else if (c == '"') {
      size_t j = i + 1;
      while (j < t.size() && t[j] != '"') j += t[j] == '\\' ? 2 : 1;
      if (j >= t.size()) break;
      if (!stack.empty() && stack.back().object && stack.back().expect_key) {
        boost::system::error_code ec;
        const json::value k = json::parse(std::string_view(t).substr(i, j - i + 1), ec);
        const std::string key = ec ? t.substr(i + 1, j - i - 1) : std::string(k.get_string());
        if (!stack.back().keys.insert(key).second) return std::pair{key, i};
        stack.back().expect_key = false;
      }
      i = j;
    } else if (c == '{' || c == '[') {
      stack.push_back({c == '{', c == '{', {}});
    } else if (c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
    } else if (c == ',' && !stack.empty() && stack.back().object) {
      stack.back().expect_key = true;
    }
  }
  return std::nullopt;
}
}  // namespace

json::value read_json_file(const std::string& path) {
  if (path.empty()) throw Error("a JSON file path is empty (give a file)");
  if (fs::is_directory(path)) throw Error(path + ": is a directory, not a JSON file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file (check the path)");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json_text(ss.str(), path);
}

json::value parse_json_text(const std::string& text, const std::string& path) {
  json::parse_options opts;
  opts.allow_comments = true;
  opts.allow_trailing_commas = true;
  json::stream_parser p({}, opts);
  boost::system::error_code ec;
  size_t n = p.write_some(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    size_t line, col;
    line_col(text, n, line, col);
    throw Error(path + ":" + std::to_string(line) + ":" + std::to_string(col) + ": malformed JSON (" + ec.message() +
                ")");
  }
  if (const auto dup = first_duplicate_key(text)) {
    size_t line, col;
    line_col(text, dup->second, line, col);
    throw Error(path + ":" + std::to_string(line) + ":" + std::to_string(col) + ": duplicate key \"" + dup->first +
                "\" (each key may appear once in an object; remove one of them)");
  }
  auto v = p.release();
  // A number that does not fit a double (1e999) parses as infinity, and Boost.JSON 1.81 reads 0e3100 as NaN (found
  // by tests/fuzz): skipbench writes non-finite numbers as null, so a non-finite number in a file is an error.
  if (const auto where = first_non_finite(v, ""); !where.empty())
    throw Error(path + ": " + where + ": a number out of the double range (or malformed, like 0e3100); write a finite "
                "number");
  return v;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path + ": cannot write (check that the directory exists and is writable)");
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();  // a full disk shows here at the latest
    if (!out) {
      std::remove(tmp.c_str());  // no temporary left; the previous file, if any, is untouched
      throw Error(path + ": write failed after " + std::to_string(text.size()) + " bytes were due (disk full or "
                  "read-only?); nothing was replaced: free space and run the same command again");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot rename temporary file into place");
  }
}

std::string compact_json(const json::value& v) {
  std::ostringstream os;
  compact(os, v);
  return os.str();
}

std::string pretty_json(const json::value& v) {
  std::ostringstream os;
  pretty(os, v, 0);
  os << "\n";
  return os.str();
}

json::value exact_numbers(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_double(), std::chars_format::hex);
      return json::string("0x" + std::string(buf, r.ptr));
    }
    case json::kind::object: {
      json::object o;
      for (const auto& kv : v.get_object()) o[kv.key()] = exact_numbers(kv.value());
      return o;
    }
    case json::kind::array: {
      json::array a;
      for (const auto& e : v.get_array()) a.push_back(exact_numbers(e));
      return a;
    }
    case json::kind::string: {  // a string that could be read back as a number (or as escaped) is escaped
      const auto& s = v.get_string();
      if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 's')) return json::string("0s" + std::string(s));
      return v;
    }
    default: return v;
  }
}

json::value restore_numbers(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: {
      const auto& s = v.get_string();
      if (s.size() >= 2 && s[0] == '0' && s[1] == 's') return json::string(s.subview(2));
      if (s.size() > 2 && s[0] == '0' && s[1] == 'x') {
        double d = 0;
        const bool neg = s.size() > 3 && s[2] == '-';
        auto r = std::from_chars(s.data() + 2 + (neg ? 1 : 0), s.data() + s.size(), d, std::chars_format::hex);
        if (r.ec == std::errc() && r.ptr == s.data() + s.size()) return neg ? -d : d;
      }
      return v;
    }
    case json::kind::object: {
      json::object o;
      for (const auto& kv : v.get_object()) o[kv.key()] = restore_numbers(kv.value());
      return o;
    }
    case json::kind::array: {
      json::array a;
      for (const auto& e : v.get_array()) a.push_back(restore_numbers(e));
      return a;
    }
    default: return v;
  }
}

const json::value* find_path(const json::value& root, const std::string& dotted) {
  const json::value* cur = &root;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    const auto& o = cur->get_object();
    auto it = o.find(key);
    if (it == o.end()) return nullptr;
    cur = &it->value();
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

boost::json::array json_array(const std::vector<double>& v) {
  boost::json::array a;
  a.reserve(v.size());
  for (double x : v) a.push_back(x);
  return a;
}
boost::json::array json_array(const std::vector<int64_t>& v) {
  boost::json::array a;
  a.reserve(v.size());
  for (int64_t x : v) a.push_back(x);
  return a;
}
// An element that is not a number (or not an exact integer for json_ints) is an Error naming its index; callers
// prefix the file and field (a raw Boost.JSON exception once escaped from here: found by tests/fuzz).
std::vector<double> json_doubles(const boost::json::value& v) {
  std::vector<double> out;
  if (!v.is_array()) return out;
  const auto& a = v.get_array();
  for (size_t i = 0; i < a.size(); ++i) {
    const auto& e = a[i];
    if (e.is_null()) {
      out.push_back(NAN);
    } else if (e.is_number()) {
      out.push_back(e.to_number<double>());
    } else {
      throw Error("element " + std::to_string(i) + ": expected a number or null, got " + json::serialize(e).substr(0, 40));
    }
  }
  return out;
}
std::vector<int64_t> json_ints(const boost::json::value& v) {
  std::vector<int64_t> out;
  if (!v.is_array()) return out;
  const auto& a = v.get_array();
  for (size_t i = 0; i < a.size(); ++i) {
    boost::system::error_code ec;
    const auto n = a[i].is_number() ? a[i].to_number<int64_t>(ec) : 0;
    if (!a[i].is_number() || ec)
      throw Error("element " + std::to_string(i) + ": expected an integer, got " + json::serialize(a[i]).substr(0, 40));
    out.push_back(n);
  }
  return out;
}

namespace {
void diff_into(const boost::json::value& a, const boost::json::value& b, const std::string& path, size_t max,
               std::vector<std::string>& out) {
  if (out.size() >= max) return;
  const auto join = [&](boost::json::string_view k) { return path.empty() ? std::string(k) : path + "." + std::string(k); };
  if (a.is_object() && b.is_object()) {
    for (const auto& kv : a.as_object()) {
      const auto* o = b.as_object().if_contains(kv.key());
      if (!o) {
        if (out.size() < max) out.push_back(join(kv.key()) + " (missing now)");
      } else {
        diff_into(kv.value(), *o, join(kv.key()), max, out);
      }
    }
    for (const auto& kv : b.as_object())
      if (!a.as_object().contains(kv.key()) && out.size() < max) out.push_back(join(kv.key()) + " (new)");
    return;
  }
  if (a.is_number() && b.is_number()) {  // 10000 read from a file equals 1e4 computed: compare values
    if (a.to_number<double>() != b.to_number<double>()) out.push_back(path + ": " + compact_json(a) + " -> " + compact_json(b));
    return;
  }
  if (a != b) out.push_back(path + ": " + compact_json(a) + " -> " + compact_json(b));
}
}  // namespace

std::vector<std::string> json_diff(const boost::json::value& before, const boost::json::value& after, size_t max) {
  std::vector<std::string> out;
  diff_into(before, after, "", max, out);
  return out;
}

}  // namespace skipbench
