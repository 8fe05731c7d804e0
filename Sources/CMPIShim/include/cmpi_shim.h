// OpenMPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE …) are macros over
// incomplete global structs that Swift cannot import; these functions return them as values.
#ifndef XMOE_CMPI_SHIM_H
#define XMOE_CMPI_SHIM_H
#include <mpi.h>

MPI_Comm xmpi_comm_world(void);
MPI_Comm xmpi_comm_self(void);
MPI_Comm xmpi_comm_null(void);
MPI_Datatype xmpi_byte(void);
MPI_Datatype xmpi_float(void);
MPI_Datatype xmpi_double(void);
MPI_Datatype xmpi_int(void);
MPI_Datatype xmpi_int32(void);
MPI_Datatype xmpi_int64(void);
MPI_Datatype xmpi_uint8(void);
MPI_Op xmpi_sum(void);
MPI_Op xmpi_max(void);
MPI_Op xmpi_min(void);
void *xmpi_in_place(void);
/* Lets MPI calls return error codes (thrown as Swift errors) instead of aborting the job. */
MPI_Errhandler xmpi_errors_return(void);
MPI_Status *xmpi_status_ignore(void);
int xmpi_undefined(void);
int xmpi_thread_funneled(void);
int xmpi_thread_serialized(void);
/* MPI_Init_thread(NULL, NULL, required, &provided); returns provided, or -1 on failure. */
int xmpi_init_thread(int required);

#endif
