// FaultVfs: a SQLite VFS that forwards to the default one and fails fsync of the WAL on demand,
// so tests can watch the store handle a COMMIT that did not reach the disk.
//
// While a FaultVfs object lives it is the process's default VFS (every connection opened then
// uses it). Not for concurrent use by several tests.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <string>

namespace setpoint::store::testing {

class FaultVfs {
 public:
  FaultVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = "setpoint-fault";
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.pAppData = this;
    vfs_.xOpen = &Open;
    sqlite3_vfs_register(&vfs_, /*makeDflt=*/1);
  }
  ~FaultVfs() { sqlite3_vfs_unregister(&vfs_); }
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  // While set, xSync on a WAL file fails with SQLITE_IOERR_FSYNC.
  void fail_wal_sync(bool on) { fail_wal_sync_.store(on); }
  int failed_syncs() const { return failed_syncs_.load(); }

 private:
  struct File {
    sqlite3_file base;
    FaultVfs* vfs;
    bool is_wal;
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };

  static File* Self(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
  static sqlite3_file* Real(sqlite3_file* f) { return Self(f)->real(); }

  static int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
    auto* self = static_cast<FaultVfs*>(vfs->pAppData);
    File* f = Self(file);
    std::memset(f, 0, sizeof(File));
    int rc = self->real_->xOpen(self->real_, name, f->real(), flags, out_flags);
    if (rc != SQLITE_OK) return rc;
    f->vfs = self;
    f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    f->base.pMethods = &kMethods;
    return SQLITE_OK;
  }

  static int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
  static int Read(sqlite3_file* f, void* p, int n, sqlite3_int64 o) {
    return Real(f)->pMethods->xRead(Real(f), p, n, o);
  }
  static int Write(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
    return Real(f)->pMethods->xWrite(Real(f), p, n, o);
  }
  static int Truncate(sqlite3_file* f, sqlite3_int64 size) { return Real(f)->pMethods->xTruncate(Real(f), size); }
  static int Sync(sqlite3_file* f, int flags) {
    if (Self(f)->is_wal && Self(f)->vfs->fail_wal_sync_.load()) {
      Self(f)->vfs->failed_syncs_++;
      return SQLITE_IOERR_FSYNC;
    }
    return Real(f)->pMethods->xSync(Real(f), flags);
  }
  static int FileSize(sqlite3_file* f, sqlite3_int64* size) { return Real(f)->pMethods->xFileSize(Real(f), size); }
  static int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
  static int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
  static int CheckReservedLock(sqlite3_file* f, int* out) {
    return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
  }
  static int FileControl(sqlite3_file* f, int op, void* arg) {
    return Real(f)->pMethods->xFileControl(Real(f), op, arg);
  }
  static int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
  static int DeviceCharacteristics(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }
  static int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** p) {
    return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, p);
  }
  static int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
    return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
  }
  static void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
  static int ShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }
  static int Fetch(sqlite3_file* f, sqlite3_int64 o, int n, void** p) {
    return Real(f)->pMethods->xFetch(Real(f), o, n, p);
  }
  static int Unfetch(sqlite3_file* f, sqlite3_int64 o, void* p) { return Real(f)->pMethods->xUnfetch(Real(f), o, p); }

  static constexpr sqlite3_io_methods kMethods = {
      3,
      &Close,
      &Read,
      &Write,
      &Truncate,
      &Sync,
      &FileSize,
      &Lock,
      &Unlock,
      &CheckReservedLock,
      &FileControl,
      &SectorSize,
      &DeviceCharacteristics,
      &ShmMap,
      &ShmLock,
      &ShmBarrier,
      &ShmUnmap,
      &Fetch,
      &Unfetch,
  };

  sqlite3_vfs* real_;
  sqlite3_vfs vfs_;
  std::atomic<bool> fail_wal_sync_{false};
  std::atomic<int> failed_syncs_{0};
};

}  // namespace setpoint::store::testing
