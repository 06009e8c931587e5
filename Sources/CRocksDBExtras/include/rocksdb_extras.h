// Calls missing from RocksDB's C API (<rocksdb/c.h>, RocksDB 7.8): batch column-family
// create/drop, pausing background work, a stalling write buffer manager.
//
// Creating or dropping a column family rewrites and re-verifies RocksDB's OPTIONS file, which
// lists every column family; doing that once per partition makes creating an N-partition topic
// cost O(N^2) (about 95 s for 1,000 partitions). DB::CreateColumnFamilies/DropColumnFamilies do
// it once per call, but the C API only wraps the single-family versions.
//
// The types are the C API's own opaque handles, declared here without including <rocksdb/c.h>
// so that Swift sees each C API function in one module only (CRocksDB).
#ifndef WEIR_ROCKSDB_EXTRAS_H
#define WEIR_ROCKSDB_EXTRAS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rocksdb_t rocksdb_t;
typedef struct rocksdb_options_t rocksdb_options_t;
typedef struct rocksdb_column_family_handle_t rocksdb_column_family_handle_t;

/// Creates `count` column families named `names`, all with the column-family part of `options`,
/// rewriting the OPTIONS file once.
///
/// `handles_out` (room for `count`) receives a handle per created family, to be released with
/// `rocksdb_column_family_handle_destroy`. On failure `*errptr` is set (malloc'd, as by the C
/// API) and RocksDB may have created a prefix of `names`: their handles are in `handles_out`,
/// the remaining slots are NULL, so the caller can drop exactly what was created.
void weir_rocksdb_create_column_families(rocksdb_t* db, const rocksdb_options_t* options, int count,
                                         const char* const* names,
                                         rocksdb_column_family_handle_t** handles_out, char** errptr);

/// Drops `count` column families, rewriting the OPTIONS file once. The handles stay valid and
/// must still be destroyed with `rocksdb_column_family_handle_destroy`. On failure `*errptr` is
/// set and a prefix of `handles` may have been dropped (RocksDB stops at the first failure).
void weir_rocksdb_drop_column_families(rocksdb_t* db, rocksdb_column_family_handle_t** handles, int count,
                                       char** errptr);

/// Stops and resumes RocksDB's flushes and compactions (waiting for running ones to finish).
void weir_rocksdb_pause_background_work(rocksdb_t* db, char** errptr);
void weir_rocksdb_continue_background_work(rocksdb_t* db, char** errptr);

/// Gives the database options (before `rocksdb_open`) a WriteBufferManager of `budget_bytes`
/// for all memtables of all column families, replacing `db_write_buffer_size`'s. With
/// `allow_stall` non-zero, writes wait (or fail with `Incomplete` under no_slowdown) while the
/// memtables together exceed the budget, until flushes bring them under it; without, the budget
/// only triggers flushes and memtables can outgrow it. Every database opened with these options
/// (or a copy) shares the one manager and its budget.
void weir_rocksdb_set_write_buffer_manager(rocksdb_options_t* options, size_t budget_bytes,
                                           unsigned char allow_stall);

#ifdef __cplusplus
}
#endif

#endif
