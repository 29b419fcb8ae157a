// safetensors.cpp: see safetensors.h.
#include "harness/imports/safetensors.h"

#include <torch/torch.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstring>
#include <fstream>
#include <sstream>

#include "harness/common/error.h"
#include "harness/common/json_io.h"

namespace skipbench {
namespace json = boost::json;

namespace {
struct DType {
  const char* name;
  torch::ScalarType type;
  int64_t bytes;
};
constexpr DType kDTypes[] = {{"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
                             {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
                             {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
                             {"BOOL", torch::kBool, 1}};
constexpr uint64_t kMaxHeader = 100'000'000;  // the format's own limit

const DType* by_name(const std::string& n) {
  for (const auto& d : kDTypes)
    if (n == d.name) return &d;
  return nullptr;
}
const DType* by_type(torch::ScalarType t) {
  for (const auto& d : kDTypes)
    if (t == d.type) return &d;
  return nullptr;
}
}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open (no such file?)");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string& what) { return Error(path + ": not a safetensors file: " + what); };
  if (bytes.size() < 8) throw bad("shorter than its 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  if (n > kMaxHeader || n > bytes.size() - 8) throw bad("header length " + std::to_string(n) + " exceeds the file");
  const json::value header = parse_json_text(bytes.substr(8, n), path + " (header)");
  if (!header.is_object()) throw bad("the header is not a JSON object");
  const char* data = bytes.data() + 8 + n;
  const uint64_t data_bytes = bytes.size() - 8 - n;
  SafetensorsFile f;
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  for (const auto& kv : header.get_object()) {
    const std::string name(kv.key());
    if (name == "__metadata__") {
      if (!kv.value().is_object()) throw bad("__metadata__ is not an object");
      for (const auto& m : kv.value().get_object()) {
        if (!m.value().is_string()) throw bad("__metadata__." + std::string(m.key()) + " is not a string");
        f.metadata[std::string(m.key())] = std::string(m.value().get_string());
      }
      continue;
    }
    const auto* o = kv.value().if_object();
    if (!o || !o->contains("dtype") || !o->contains("shape") || !o->contains("data_offsets"))
      throw bad("tensor " + name + ": expected {dtype, shape, data_offsets}");
    const auto* dn = o->at("dtype").if_string();
    const DType* dt = dn ? by_name(std::string(*dn)) : nullptr;
    if (!dt) throw bad("tensor " + name + ": unsupported dtype " + json::serialize(o->at("dtype")));
    std::vector<int64_t> shape;
    int64_t numel = 1;
    const auto* sa = o->at("shape").if_array();
    if (!sa) throw bad("tensor " + name + ": shape is not an array");
    for (const auto& d : *sa) {
      if (!d.is_int64() && !d.is_uint64()) throw bad("tensor " + name + ": shape holds a non-integer");
      const int64_t v = d.to_number<int64_t>();
      if (v < 0 || (v > 0 && numel > (int64_t{1} << 40) / v)) throw bad("tensor " + name + ": impossible shape");
      shape.push_back(v);
      numel *= v;
    }
    const auto* off = o->at("data_offsets").if_array();
    if (!off || off->size() != 2 || !(*off)[0].is_number() || !(*off)[1].is_number())
      throw bad("tensor " + name + ": data_offsets is not [begin, end]");
    const uint64_t b = (*off)[0].to_number<uint64_t>(), e = (*off)[1].to_number<uint64_t>();
    if (b > e || e > data_bytes)
      throw bad("tensor " + name + ": data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                "] outside the " + std::to_string(data_bytes) + " data bytes (truncated file?)");
    if (e - b != static_cast<uint64_t>(numel * dt->bytes))
      throw bad("tensor " + name + ": " + std::to_string(e - b) + " bytes for " + std::to_string(numel) + " x " +
                dt->name);
    spans.emplace_back(b, e);
    auto t = torch::empty(shape, torch::TensorOptions().dtype(dt->type));
    if (numel > 0) std::memcpy(t.data_ptr(), data + b, e - b);  // the format is little-endian, as this machine
    f.tensors.emplace(name, std::move(t));
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second && spans[i].first != spans[i].second)
      throw bad("two tensors overlap in the data");
  return f;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json::object header;
  if (!metadata.empty()) {
    json::object m;
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  std::vector<torch::Tensor> flat;
  uint64_t off = 0;
  for (const auto& [name, t0] : tensors) {
    require(name != "__metadata__" && !header.contains(name), path + ": tensor name " + name + " given twice");
    auto t = t0.detach().to(torch::kCPU).contiguous();
    const DType* dt = by_type(t.scalar_type());
    require(dt != nullptr, path + ": tensor " + name + " has a dtype safetensors cannot hold");
    const uint64_t nb = static_cast<uint64_t>(t.numel() * dt->bytes);
    json::array shape;
    for (auto s : t.sizes()) shape.push_back(s);
    header[name] = json::object{{"dtype", dt->name}, {"shape", shape}, {"data_offsets", json::array{off, off + nb}}};
    off += nb;
    flat.push_back(t);
  }
  std::string h = json::serialize(header);
  h.append((8 - h.size() % 8) % 8, ' ');  // data 8-byte aligned, as the reference writer pads
  std::string out(8, '\0');
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += h;
  out.reserve(out.size() + off);
  for (const auto& t : flat) out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  write_file_atomic(path, out);
}

}  // namespace skipbench
