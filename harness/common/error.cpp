// error.cpp: see error.h.
#include "harness/common/error.h"

namespace skipbench {
void require(bool cond, const std::string& msg) {
  if (!cond) throw Error(msg);
}
}  // namespace skipbench
