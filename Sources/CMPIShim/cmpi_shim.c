#include "cmpi_shim.h"

MPI_Comm xmpi_comm_world(void) { return MPI_COMM_WORLD; }
MPI_Comm xmpi_comm_self(void) { return MPI_COMM_SELF; }
MPI_Comm xmpi_comm_null(void) { return MPI_COMM_NULL; }
MPI_Datatype xmpi_byte(void) { return MPI_BYTE; }
MPI_Datatype xmpi_float(void) { return MPI_FLOAT; }
MPI_Datatype xmpi_double(void) { return MPI_DOUBLE; }
MPI_Datatype xmpi_int(void) { return MPI_INT; }
MPI_Datatype xmpi_int32(void) { return MPI_INT32_T; }
MPI_Datatype xmpi_int64(void) { return MPI_INT64_T; }
MPI_Datatype xmpi_uint8(void) { return MPI_UINT8_T; }
MPI_Op xmpi_sum(void) { return MPI_SUM; }
MPI_Op xmpi_max(void) { return MPI_MAX; }
MPI_Op xmpi_min(void) { return MPI_MIN; }
void *xmpi_in_place(void) { return MPI_IN_PLACE; }
MPI_Errhandler xmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
MPI_Status *xmpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
int xmpi_undefined(void) { return MPI_UNDEFINED; }
int xmpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
int xmpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }

int xmpi_init_thread(int required) {
    int provided = -1;
    if (MPI_Init_thread(NULL, NULL, required, &provided) != MPI_SUCCESS) return -1;
    return provided;
}
