// safetensors.h: the safetensors file format (Hugging Face), read and written without Python: an 8-byte
// little-endian header length N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}, then the tensors' bytes (offsets relative to the end of the header).
// It is how `skipbench import` receives weights: the released skip-middle checkpoints are safetensors, and the GGUF
// exporter (gguf_export.py) writes one. Every structural fault is refused with the file named.
#pragma once
#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace skipbench {

struct SafetensorsFile {
  std::map<std::string, torch::Tensor> tensors;   // as stored (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)
  std::map<std::string, std::string> metadata;    // "__metadata__", if any
};

// Reads every tensor. Throws Error("<path>: ...") on a short file, a header that is not the format's JSON, an
// unknown dtype, offsets outside the data or not matching shape x dtype size, or tensors that overlap.
SafetensorsFile read_safetensors(const std::string& path);

// Writes the tensors (contiguous CPU copies, in the given order), atomically.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace skipbench
