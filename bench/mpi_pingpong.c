/* mpi_pingpong.c: the figures of the scaling model's link, measured between two MPI
 * processes: the latency of a small message (half a round trip of 8 bytes), the bandwidth
 * of large ones (half a round trip of 256 KB and 4 MB), and the time of a collective call
 * on one integer (MPI_Allreduce: the software's cost per call), and how fast one core adds
 * one float vector to another (the chain's own additions). Run under mpirun -np 2;
 * bench/mpi.sh uses it to check the model against the communication netrun measures. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static double half_round_trip(char *buf, int bytes, int reps, int rank)
{
    MPI_Barrier(MPI_COMM_WORLD);
    double t = MPI_Wtime();
    for (int i = 0; i < reps; i++) {
        if (rank == 0) {
            MPI_Send(buf, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(buf, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(buf, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
        }
    }
    return (MPI_Wtime() - t) / reps / 2;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2) {
        if (rank == 0)
            fprintf(stderr, "mpi_pingpong: run it with mpirun -np 2\n");
        MPI_Finalize();
        return 2;
    }
    char *buf = calloc(1, 4 << 20);
    if (!buf)
        MPI_Abort(MPI_COMM_WORLD, 1);
    half_round_trip(buf, 8, 1000, rank); /* warm-up */
    double lat = half_round_trip(buf, 8, 20000, rank);
    double t256 = half_round_trip(buf, 256 << 10, 400, rank);
    double t4m = half_round_trip(buf, 4 << 20, 40, rank);
    int v = 1, sum;
    MPI_Barrier(MPI_COMM_WORLD);
    double t = MPI_Wtime();
    for (int i = 0; i < 20000; i++)
        MPI_Allreduce(&v, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    double coll = (MPI_Wtime() - t) / 20000;
    /* an in-place MPI_Allgatherv of 64 doubles a process, as BatchNorm's sums travel */
    double sums[128] = {0};
    int counts[2] = {64, 64}, displs[2] = {0, 64};
    MPI_Barrier(MPI_COMM_WORLD);
    t = MPI_Wtime();
    for (int i = 0; i < 20000; i++)
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, sums, counts, displs, MPI_DOUBLE,
                       MPI_COMM_WORLD);
    double gath = (MPI_Wtime() - t) / 20000;
    /* acc += b over 1M floats, as the chain adds a chunk's gradients: bytes read per second */
    float *acc = (float *)buf, *b = calloc(1 << 20, sizeof(float));
    if (!b)
        MPI_Abort(MPI_COMM_WORLD, 1);
    t = MPI_Wtime();
    for (int r = 0; r < 50; r++)
        for (int j = 0; j < 1 << 20; j++)
            acc[j] += b[j];
    double add = 50.0 * 2 * 4 * (1 << 20) / (MPI_Wtime() - t);
    volatile float keep = acc[12345];
    (void)keep;
    free(b);
    if (rank == 0)
        printf("add_GBps %.2f\n", add / 1e9);
    if (rank == 0)
        printf("latency_us %.2f\nbandwidth_256k_GBps %.2f\nbandwidth_4m_GBps %.2f\n"
               "allreduce_us %.2f\nallgatherv_us %.2f\n",
               lat * 1e6, (256 << 10) / (t256 - lat) / 1e9, (4 << 20) / (t4m - lat) / 1e9,
               coll * 1e6, gath * 1e6);
    free(buf);
    MPI_Finalize();
    return 0;
}
