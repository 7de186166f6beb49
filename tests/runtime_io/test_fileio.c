/* test_fileio.c: replacing a file (fileio.h) as the checkpoint writer and --logits use it:
 * only a regular file or nothing is replaced (a directory, a device node, a FIFO and a socket
 * are refused and left as they are; a symbolic link is followed), a save removes the
 * temporary files that processes that are gone left behind and keeps a live process's, and
 * the clipping of names for messages. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "fileio.h"
#include "safetensors.h"
#include "testutil.h"

static char *tmp;
static Cap cap;
static char path[1024];
static float one = 1;
static const StTensor t1 = {.name = "x", .dtype = ST_F32, .ndim = 0, .nbytes = 4, .data = &one};

static void setup(void)
{
    tmp = tmpdir_new();
    cap_init(&cap);
    snprintf(path, sizeof path, "%s/w.st", tmp);
}

static void teardown(void)
{
    cap_fini(&cap);
    tmpdir_free(tmp);
}

TestSuite(fileio, .init = setup, .fini = teardown);

static void reset(void)
{
    cap_fini(&cap);
    cap_init(&cap);
}

Test(fileio, refuses_what_is_not_a_regular_file)
{
    struct {
        const char *path, *kind;
    } cases[] = {
        {"/dev/null", "a character device"},
        {"fifo", "a FIFO"},
        {"sock", "a socket"},
        {"dir", "a directory"},
    };
    char p[1024];
    snprintf(p, sizeof p, "%s/fifo", tmp);
    cr_assert_eq(mkfifo(p, 0644), 0);
    snprintf(p, sizeof p, "%s/dir", tmp);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/sock", tmp);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%.*s", (int)sizeof a.sun_path - 1, p);
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        reset();
        if (cases[i].path[0] != '/')
            snprintf(p, sizeof p, "%s/%s", tmp, cases[i].path);
        else
            snprintf(p, sizeof p, "%s", cases[i].path);
        struct stat before, after;
        cr_assert_eq(stat(p, &before), 0);
        cr_assert_not(st_write(p, &t1, 1, NULL, &cap.d), "%s was replaced", p);
        expect_error(&cap, p, cases[i].kind, "a save replaces only a regular file");
        cr_assert_eq(stat(p, &after), 0);
        cr_assert(before.st_mode == after.st_mode && before.st_ino == after.st_ino &&
                      before.st_rdev == after.st_rdev,
                  "%s changed", p);
        reset();
        cr_assert_not(save_check(p, false, &cap.d));
        expect_error(&cap, p, cases[i].kind);
    }
    close(s);
    cr_assert_eq(dir_entries(tmp), 3, "a temporary file was left behind");
}

/* --logits may go to a stream: a FIFO or a character device is written straight through. */
Test(fileio, streams_are_written_through_when_allowed)
{
    SaveFile s;
    cr_assert(save_begin(&s, "/dev/null", true, &cap.d), "%s", cap_text(&cap));
    FILE *f = save_stream(&s, &cap.d);
    cr_assert(f && s.tmp == NULL);
    fputs("1,2,3\n", f);
    cr_assert(save_commit(&s, &cap.d), "%s", cap_text(&cap));
    cr_assert_eq(dir_entries(tmp), 0);
}

Test(fileio, symbolic_links_are_followed)
{
    char target[1024], link[1024], dangling[1024];
    snprintf(target, sizeof target, "%s/target.st", tmp);
    snprintf(link, sizeof link, "%s/link.st", tmp);
    snprintf(dangling, sizeof dangling, "%s/dangling.st", tmp);
    write_file(target, "old", 3);
    cr_assert_eq(symlink("target.st", link), 0);
    cr_assert(st_write(link, &t1, 1, NULL, &cap.d), "%s", cap_text(&cap));
    struct stat st;
    cr_assert(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced");
    StFile *f = st_read(target, &cap.d);
    cr_assert(f && st_find(f, "x"), "the link's target was not written");
    st_free(f);
    cr_assert_eq(symlink("nowhere/x.st", dangling), 0);
    cr_assert_not(st_write(dangling, &t1, 1, NULL, &cap.d));
    expect_error(&cap, dangling, "symbolic link", "cannot be reached");
    cr_assert_eq(dir_entries(tmp), 3);
}

/* In a run folder (a run.json beside it) a link is the run's file replaced, never written
 * through: a folder someone else can write may have it planted at any time before a save. */
Test(fileio, a_link_in_a_run_folder_is_replaced)
{
    char run[1024], json[1100], victim[1024], link[1100];
    snprintf(run, sizeof run, "%s/run", tmp);
    snprintf(json, sizeof json, "%s/run.json", run);
    snprintf(victim, sizeof victim, "%s/victim.txt", tmp);
    snprintf(link, sizeof link, "%s/best.safetensors", run);
    cr_assert_eq(mkdir(run, 0777), 0);
    write_file(json, "{}", 2);
    write_file(victim, "precious", 8);
    cr_assert_eq(symlink("../victim.txt", link), 0);
    cr_assert(st_write(link, &t1, 1, NULL, &cap.d), "%s", cap_text(&cap));
    struct stat st;
    cr_assert(lstat(link, &st) == 0 && S_ISREG(st.st_mode), "the link is still there");
    size_t n;
    unsigned char *v = read_file(victim, &n);
    cr_assert(v && n == 8 && !memcmp(v, "precious", 8), "the link's target was written");
    free(v);
    /* the folder this process records in, named by io_own_dir, whatever it holds by then
     * (its run.json removed, to make saves follow links) */
    cr_assert_eq(unlink(json), 0);
    cr_assert_eq(unlink(link), 0);
    cr_assert_eq(symlink("../victim.txt", link), 0);
    io_own_dir(run);
    cr_assert(st_write(link, &t1, 1, NULL, &cap.d), "%s", cap_text(&cap));
    io_own_dir(NULL);
    cr_assert(lstat(link, &st) == 0 && S_ISREG(st.st_mode), "the link in the own folder stayed");
    v = read_file(victim, &n);
    cr_assert(v && n == 8 && !memcmp(v, "precious", 8), "written through the own folder's link");
    free(v);
}

/* A pid that no process has: a child's, after it was reaped. */
static pid_t dead_pid(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    cr_assert(p > 0);
    waitpid(p, NULL, 0);
    return p;
}

Test(fileio, stale_temporary_files_are_removed)
{
    char dead[1100], live[1100], other[1100], notpid[1100], mine[1100];
    snprintf(dead, sizeof dead, "%s.tmp.%d", path, (int)dead_pid());
    snprintf(live, sizeof live, "%s.tmp.%d", path, (int)getppid());
    snprintf(other, sizeof other, "%s/v.st.tmp.%d", tmp, (int)dead_pid());
    snprintf(notpid, sizeof notpid, "%s.tmp.12x", path);
    snprintf(mine, sizeof mine, "%s.tmp.%d", path, (int)getpid());
    const char *all[] = {dead, live, other, notpid, mine};
    for (int i = 0; i < 5; i++)
        write_file(all[i], "partial", 7);
    cr_assert(st_write(path, &t1, 1, NULL, &cap.d), "%s", cap_text(&cap));
    cr_assert_neq(access(dead, F_OK), 0, "a dead process's temporary file stayed");
    cr_assert_neq(access(mine, F_OK), 0, "an earlier process with our pid left its file");
    cr_assert_eq(access(live, F_OK), 0, "a live process's temporary file was removed");
    cr_assert_eq(access(other, F_OK), 0, "another file's temporary file was removed");
    cr_assert_eq(access(notpid, F_OK), 0);
    cr_assert_eq(dir_entries(tmp), 4);
}

/* save_abandon, as a signal handler calls it, removes the temporary file in progress. */
Test(fileio, abandon_removes_the_file_in_progress)
{
    SaveFile s;
    cr_assert(save_begin(&s, path, false, &cap.d));
    cr_assert_eq(dir_entries(tmp), 1);
    save_abandon();
    cr_assert_eq(dir_entries(tmp), 0);
    save_abort(&s);
    save_abandon(); /* nothing in progress: nothing happens */
}

Test(fileio, clip)
{
    char b[IO_CLIP_BUF];
    cr_assert_str_eq(io_clip(b, "fc.weight"), "fc.weight");
    cr_assert_str_eq(io_clip(b, ""), "");
    cr_assert_str_eq(io_clip(b, "a\tb\x7f"), "a\\x09b\\x7f");
    char s[200];
    memset(s, 'x', 60);
    s[60] = 0;
    cr_assert_str_eq(io_clip(b, s), s, "60 bytes are shown whole");
    s[60] = 'y';
    s[61] = 0;
    cr_assert_eq(strlen(io_clip(b, s)), 60);
    cr_assert(strncmp(b + 54, "xxx...", 6) == 0, "%s", b);
    /* a cut never splits a UTF-8 character: e-acute is 2 bytes at 56..57 */
    memset(s, 'x', 100);
    memcpy(s + 56, "\xc3\xa9", 2);
    s[100] = 0;
    io_clip(b, s);
    cr_assert_str_eq(b + 56, "...", "%s", b);
    memset(s, '\x01', 100);
    cr_assert_eq(strlen(io_clip(b, s)), 57 * 4 + 3);
}

/* json_not_dense counts the objects and arrays json-c would build: those inside strings
 * (double- or single-quoted, which json-c's default mode takes) and comments do not count,
 * and a quote inside either hides nothing after it. */
Test(fileio, json_density_sees_through_quotes_and_comments)
{
    static const char *const starts[] = {"{\"a\":", "{'\"':", "{/*\"*/\"a\":", "{//\"\n\"a\":"};
    for (size_t k = 0; k < sizeof starts / sizeof *starts; k++) {
        StrBuf sb;
        sb_init(&sb);
        sb_printf(&sb, "%s[[]", starts[k]);
        for (int i = 0; i < 1000; i++)
            sb_puts(&sb, ",[]");
        sb_puts(&sb, "]}");
        cr_expect_not(json_not_dense(sb.data, sb.len), "%s...: 1001 arrays in %zu bytes", starts[k],
                      sb.len);
        sb_free(&sb);
    }
    static const char *const sparse[] = {
        "{\"loss\": 0.25, \"epoch\": 3, \"shape\": [1, 2], \"s\": \"[[[[[[[[[[[[[[[[[[[[\"}",
        "{'s': "
        "'[[[[[[{{{{{{[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
        "[['}",
        "{/* [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ */}"};
    for (size_t k = 0; k < sizeof sparse / sizeof *sparse; k++)
        cr_expect(json_not_dense(sparse[k], strlen(sparse[k])), "%s", sparse[k]);
}
