// error.h: the one error type users see. Every bad input (config, data, option) throws skipbench::Error with a
// single line naming what and where and how to fix it; the CLI prints it and exits with code 2.
#pragma once
#include <stdexcept>
#include <string>

namespace skipbench {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// Throws Error(msg) when cond is false.
void require(bool cond, const std::string& msg);

}  // namespace skipbench
