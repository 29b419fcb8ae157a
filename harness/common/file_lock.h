// file_lock.h: one process per directory. An exclusive advisory lock (flock(2)) on a lock file, held for the
// lifetime of a FileLock and released by the kernel when the process ends however it ends (kill -9 included), so a
// stale lock cannot exist. The trainer holds DIR/train.lock while it trains DIR: a second trainer on the same run
// directory refuses, and a suite decides "running" by probing the lock (not by a pid that may have been reused).
#pragma once
#include <string>

namespace skipbench {

class FileLock {
 public:
  // Takes the lock on `path` (created if missing) without waiting and writes this process's pid into it. Throws
  // Error("<dir>: another skipbench process (pid N) ... <what>") when another process holds it.
  FileLock(const std::string& path, const std::string& what);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // Whether another process holds the lock on `path` now (false when the file does not exist).
  static bool held(const std::string& path);
  // The pid the holder wrote ("" when unknown).
  static std::string holder(const std::string& path);

 private:
  int fd_ = -1;
};

}  // namespace skipbench
