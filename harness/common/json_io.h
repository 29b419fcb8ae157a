// json_io.h: JSON file reading with errors that name the file, pretty printing, and atomic writes
// (temp file + rename, so a report or checkpoint is either the old one or the new one, never half of one).
#pragma once
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace skipbench {

// Parses a JSON file; throws Error("<path>: <what>") on a missing file or malformed JSON (with line:column).
boost::json::value read_json_file(const std::string& path);
// The same on text already in memory; `path` names it in errors ("<path>:<line>:<col>: malformed JSON (...)").
boost::json::value parse_json_text(const std::string& text, const std::string& path);

// Writes text to path atomically: path.tmp.<pid> then rename(2). Creates no parent directories. A failed write
// (disk full, read-only) throws Error naming path, removes the temporary file and leaves the old path untouched.
void write_file_atomic(const std::string& path, const std::string& text);

// One-line JSON (for .jsonl); numbers in shortest round-trip form, non-finite numbers as null.
std::string compact_json(const boost::json::value& v);

// Human-readable JSON (2-space indent, one key per line); numbers keep full precision.
std::string pretty_json(const boost::json::value& v);

// Exact round trip of doubles through JSON (Boost.JSON 1.81's parser can be off by an ulp): every double becomes a
// string "0x<hex float>" (exact_numbers) and back (restore_numbers). For checkpoint state, where resumed runs must
// be bit-identical. Strings that begin with "0x" or "0s" are escaped as "0s<string>", so that the round trip gives
// every value back (tests/fuzz/fuzz_json_state.cpp checks it; the string "0x1p+0" used to come back as 1).
boost::json::value exact_numbers(const boost::json::value& v);
boost::json::value restore_numbers(const boost::json::value& v);

// Numbers to a JSON array and back. json_doubles: null elements become NaN (compact_json writes non-finite
// numbers as null); anything but an array gives an empty vector.
boost::json::array json_array(const std::vector<double>& v);
boost::json::array json_array(const std::vector<int64_t>& v);
std::vector<double> json_doubles(const boost::json::value& v);
std::vector<int64_t> json_ints(const boost::json::value& v);

// Where two JSON values differ (numbers by value: 10000 equals 1e4), as dotted paths ("train.optimizer.default.lr: 0.003 -> 0.0033", "x.y (new)",
// "x.z (missing now)"), the first `max` of them.
std::vector<std::string> json_diff(const boost::json::value& before, const boost::json::value& after, size_t max = 3);

// Looks up a dotted path ("a.b.c") in an object; returns nullptr when any part is missing.
const boost::json::value* find_path(const boost::json::value& root, const std::string& dotted);

}  // namespace skipbench
