// fs.h: the few filesystem operations skipbench needs, on POSIX calls.
// Why not std::filesystem: the PyPI torch wheel's libtorch.so exports its own std::filesystem symbols (built with
// another toolchain), and the dynamic linker binds our calls to them; std::filesystem::remove_all then jumps to a
// null pointer (seen with torch 2.11.0 + g++ 12: SIGSEGV inside libtorch.so). These helpers sidestep that.
#pragma once
#include <string>
#include <vector>

namespace skipbench::fs {

bool exists(const std::string& path);
bool is_directory(const std::string& path);
bool is_regular_file(const std::string& path);  // false for symlinks
void make_dirs(const std::string& path);        // mkdir -p; throws Error naming the path
void remove_tree(const std::string& path);      // rm -rf; silent when missing
std::vector<std::string> list_dir(const std::string& dir);  // entry names (no . and ..), sorted
std::string join(const std::string& a, const std::string& b);
std::string absolute(const std::string& path);  // realpath(3) when it exists, else joined to the working directory
std::vector<std::string> glob(const std::string& pattern);  // sorted matches of a glob(3) pattern, possibly none

}  // namespace skipbench::fs
