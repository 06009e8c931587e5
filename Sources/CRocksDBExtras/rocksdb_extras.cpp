// Calls missing from RocksDB's C API; see include/rocksdb_extras.h for why.
//
// The C API's handle types are opaque in <rocksdb/c.h>; their definitions live in RocksDB's
// db/c.cc and are not installed. The three below are copied from db/c.cc at tag v7.8.3 (the
// Debian librocksdb7.8 7.8.3 this links against) and must stay identical to it:
//   - rocksdb_t and rocksdb_options_t are only read here (rep at offset 0);
//   - rocksdb_column_family_handle_t is allocated here with `new` and freed by the library's
//     rocksdb_column_family_handle_destroy with `delete handle->rep; delete handle;` (the
//     installed 7.8.3 binary does a sized delete of 8 bytes). RocksDB 8.x added a
//     `bool immortal` field to it: upgrading RocksDB means re-checking this file.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/version.h>
#include <rocksdb/write_buffer_manager.h>

#include "rocksdb_extras.h"

#if ROCKSDB_MAJOR != 7 || ROCKSDB_MINOR != 8
#error "rocksdb_extras.cpp replicates RocksDB 7.8's C API structs: re-check them against db/c.cc"
#endif

using ROCKSDB_NAMESPACE::ColumnFamilyHandle;
using ROCKSDB_NAMESPACE::ColumnFamilyOptions;
using ROCKSDB_NAMESPACE::DB;
using ROCKSDB_NAMESPACE::Options;
using ROCKSDB_NAMESPACE::Status;
using ROCKSDB_NAMESPACE::WriteBufferManager;

extern "C" {
struct rocksdb_t { DB* rep; };
struct rocksdb_options_t { Options rep; };
struct rocksdb_column_family_handle_t { ColumnFamilyHandle* rep; };
}

static_assert(sizeof(rocksdb_column_family_handle_t) == sizeof(ColumnFamilyHandle*),
              "must match db/c.cc of RocksDB 7.8.3, which frees it");

// As db/c.cc's SaveError: the message is strdup'ed into *errptr, replacing any earlier one.
static bool SaveError(char** errptr, const Status& s) {
    if (s.ok()) return false;
    if (*errptr != nullptr) free(*errptr);
    *errptr = strdup(s.ToString().c_str());
    return true;
}

extern "C" void weir_rocksdb_create_column_families(rocksdb_t* db, const rocksdb_options_t* options, int count,
                                                    const char* const* names,
                                                    rocksdb_column_family_handle_t** handles_out,
                                                    char** errptr) {
    for (int i = 0; i < count; i++) handles_out[i] = nullptr;
    if (count <= 0) return;
    std::vector<std::string> cfNames(names, names + count);
    std::vector<ColumnFamilyHandle*> handles;
    Status s = db->rep->CreateColumnFamilies(ColumnFamilyOptions(options->rep), cfNames, &handles);
    // Even on failure, `handles` holds the families RocksDB did create (a prefix of the names).
    for (size_t i = 0; i < handles.size() && i < static_cast<size_t>(count); i++) {
        handles_out[i] = new rocksdb_column_family_handle_t{handles[i]};
    }
    SaveError(errptr, s);
}

extern "C" void weir_rocksdb_drop_column_families(rocksdb_t* db, rocksdb_column_family_handle_t** handles, int count,
                                                  char** errptr) {
    if (count <= 0) return;
    std::vector<ColumnFamilyHandle*> reps;
    reps.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; i++) reps.push_back(handles[i]->rep);
    SaveError(errptr, db->rep->DropColumnFamilies(reps));
}

// DB::PauseBackgroundWork / ContinueBackgroundWork (no C API in 7.8): tests hold a write stall
// in place with them (a paused flush leaves full memtables, and RocksDB stops writes).
extern "C" void weir_rocksdb_pause_background_work(rocksdb_t* db, char** errptr) {
    SaveError(errptr, db->rep->PauseBackgroundWork());
}

extern "C" void weir_rocksdb_continue_background_work(rocksdb_t* db, char** errptr) {
    SaveError(errptr, db->rep->ContinueBackgroundWork());
}

// DBOptions::write_buffer_manager (no C API in 7.8). `db_write_buffer_size` makes RocksDB create
// a manager without allow_stall, which only asks for flushes: memtables then pile up past the
// budget when flushes fall behind (bench/layout-results.md §3: 1,015 MiB for a 250 MiB budget).
// No cache: the manager counts memtable memory itself instead of charging the block cache.
extern "C" void weir_rocksdb_set_write_buffer_manager(rocksdb_options_t* options, size_t budget_bytes,
                                                      unsigned char allow_stall) {
    options->rep.db_write_buffer_size = budget_bytes;  // what the manager overrides, kept equal for the OPTIONS file
    options->rep.write_buffer_manager =
        std::make_shared<WriteBufferManager>(budget_bytes, std::shared_ptr<ROCKSDB_NAMESPACE::Cache>(), allow_stall != 0);
}
