#include "config.h"

#include "parser/shell.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/mem.h"
#include "tests/unit/tap.h"

#include "common/banned.h"

static struct shell_env env = SHELL_ENV_INIT;

struct word_case {
  const char *in;
  const char *want;
};

/* Words are compared joined with '|', which no case uses otherwise.  */
static char *
join_words(char **words)
{
  struct cb_buf b = CB_BUF_INIT;

  for (char **w = words; *w != NULL; w++) {
    if (w != words)
      cb_buf_addc(&b, '|');
    cb_buf_adds(&b, *w);
  }
  return cb_buf_detach(&b, NULL);
}

static void
check_word(const char *in, const char *want, char esc, unsigned flags)
{
  const struct shell_opts opts = { esc, flags };
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *got = shell_expand_word(in, &env, &opts, &err);

  is_str(got, want, "word '%s' (escape %c, flags %#x)", in, esc, flags);
  if (err != NULL)
    diag("error: %s", err->msg);
}

static void
check_words(const char *in, const char *want, unsigned flags)
{
  const struct shell_opts opts = { '\\', flags };
  cleanup_error struct cb_error *err = NULL;
  cleanup_strv char **words = shell_expand_words(in, &env, &opts, &err);
  cleanup_free char *got = words != NULL ? join_words(words) : NULL;

  is_str(got, want, "words '%s' (flags %#x)", in, flags);
  if (err != NULL)
    diag("error: %s", err->msg);
}

/* The expansion fails with KIND, and the message contains WANT.  */
static void
check_error(const char *in, enum cb_err_kind kind, const char *want)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *got = shell_expand_word(in, &env, NULL, &err);
  cleanup_error struct cb_error *err2 = NULL;
  cleanup_strv char **words = shell_expand_words(in, &env, NULL, &err2);

  ok(got == NULL && words == NULL, "'%s' fails in both modes", in);
  if (!ok(err != NULL && err->kind == kind && strstr(err->msg, want) != NULL,
          "'%s': error of kind %d mentions '%s'", in, (int)kind, want) &&
      err != NULL)
    diag("got kind %d: %s", (int)err->kind, err->msg);
}

static void
check_error_exact(const char *in, const char *want)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *got = shell_expand_word(in, &env, NULL, &err);

  ok(got == NULL && err != NULL && err->kind == CB_ERR_PARSE,
     "'%s' is a parse error", in);
  is_str(err != NULL ? err->msg : NULL, want, "'%s' error message", in);
}

static void
test_env(void)
{
  struct shell_env e = SHELL_ENV_INIT;

  ok(shell_env_get(&e, "A") == NULL, "empty env: A unset");
  ok(shell_env_get(NULL, "A") == NULL, "NULL env: A unset");
  shell_env_set(&e, "A", "1");
  shell_env_set_pair(&e, "B=x=y");
  shell_env_set_pair(&e, "C");
  shell_env_set_pair(&e, "D=");
  shell_env_set(&e, "A", "2");
  is_str(shell_env_get(&e, "A"), "2", "a later set replaces");
  is_str(shell_env_get(&e, "B"), "x=y", "pair splits at the first '='");
  is_str(shell_env_get(&e, "C"), "", "pair without '=' is set but empty");
  is_str(shell_env_get(&e, "D"), "", "NAME= is set but empty");
  ok(shell_env_get(&e, "a") == NULL, "names are case-sensitive");
  is_int((long long)e.n, 4, "replacing keeps one entry per name");
  is_str(e.names[0], "A", "replacing keeps the order");
  for (int i = 0; i < 20; i++) {
    char name[16];

    snprintf(name, sizeof(name), "V%d", i);
    shell_env_set(&e, name, name);
  }
  is_str(shell_env_get(&e, "V19"), "V19", "env grows");
  shell_env_release(&e);
  ok(e.n == 0 && e.names == NULL, "release empties the env");
}

static const struct word_case plain_cases[] = {
  { "hello", "hello" },
  { "he'll'o", "hello" },
  { "'a b'\"c d\"", "a bc d" },
  { "he\\'llo", "he'llo" },
  { "abc\\tdef", "abctdef" },
  { "a\\ b", "a b" },
  { "hello\\", "hello" },
  { "hello\\\\", "hello\\" },
  { "\"a\\\"b\"", "a\"b" },
  { "\"a\\tb\"", "a\\tb" },
  { "\"a\\\\b\"", "a\\b" },
  { "\"a\\$PWD\"", "a$PWD" },
  { "'\\$PWD'", "\\$PWD" },
  { "'$PWD'", "$PWD" },
  { "\"'$PWD'\"", "'/home'" },
  { "$", "$" },
  { "$.", "$." },
  { "a$", "a$" },
  { "$'x'", "$x" },
  { "he$PWD.", "he/home." },
  { "he${PWD}x", "he/homex" },
  { "\\$PWD", "$PWD" },
  { "\\${}", "${}" },
  { "$1x", "x" },
  { "$001aaa", "aaa" },
  { "$@@@", "@@" },
  { "$$", "" },
  { "${#}", "" },
  { "${aaa}}", "}" },
  { "$UNSET", "" },
  { "${EMPTY}", "" },
  /* Unicode letters and digits in names, values and text.  */
  { "안녕$KOREAN", "안녕한국어" },
  { "$한국", "어" },
  { "${한국}x", "어x" },
  { "$한국x", "" },
  { "$\u0661x", "x" }, /* ARABIC-INDIC DIGIT ONE is a digit */
  { "a\xff"
    "b$PWD",
    "a\xff"
    "b/home" },
};

static const struct word_case modifier_cases[] = {
  { "${UNSET-def}", "def" },
  { "${EMPTY-def}", "" },
  { "${PWD-def}", "/home" },
  { "${UNSET:-def}", "def" },
  { "${EMPTY:-def}", "def" },
  { "${PWD:-def}", "/home" },
  { "${UNSET+alt}", "" },
  { "${EMPTY+alt}", "alt" },
  { "${PWD+alt}", "alt" },
  { "${UNSET:+alt}", "" },
  { "${EMPTY:+alt}", "" },
  { "${PWD:+alt}", "alt" },
  { "${PWD?msg}", "/home" },
  { "${EMPTY?msg}", "" },
  { "${PWD:?msg}", "/home" },
  { "${UNSET:-${X:-${PWD}}}", "/home" },
  { "${UNSET:-\\$PWD:}", "$PWD:" },
  { "${UNSET:-\\${PWD}z}", "${PWDz}" },
  { "${UNSET:-'}'}", "}" },
  { "${UNSET:-\"a}b\"}", "a}b" },
  { "${UNSET:-bbb {foo}", "bbb {foo" },
  { "${1:-one}${@:-at}", "oneat" },
  { "${FOO#x}", "xyy" },
  { "${FOO##*x}", "yy" },
  { "${FOO#*}", "xxyy" },
  { "${FOO##*}", "" },
  { "${FOO#}", "xxyy" },
  { "${FOO#\\*}", "xxyy" },
  { "${STAR#\\*}", "" },
  { "${FOO#??}", "yy" },
  { "${FOO#$X1}", "xyy" },
  { "${FOO%y}", "xxy" },
  { "${FOO%%y*}", "xx" },
  { "${FOO%x*}", "x" },
  { "${FOO%%x*}", "" },
  { "${FOO%%}", "xxyy" },
  { "${FOO%z}", "xxyy" },
  { "${UNSET#x}", "" },
  { "${BRACKETS#[a]}", "(b){c}" },
  { "${BRACES%\\}}", "{x" },
  { "${KOREAN#?}", "국어" },
  { "${KOREAN%?}", "한국" },
  { "${FOO/x/-}", "-xyy" },
  { "${FOO//x/-}", "--yy" },
  { "${FOO/x*/-}", "-" },
  { "${FOO//?/.}", "...." },
  { "${FOO/#x/-}", "xxyy" }, /* no anchors: '#' is literal */
  { "${FOO/y/}", "xxy" },
  { "${FOO/$EMPTY/-}", "-xxyy" },
  { "${FOO//$EMPTY/-}", "-x-x-y-y-" },
  { "${FOO//*/-}", "-" },
  { "${FOO///}", "xxyy" },
  { "${PATHS//\\//:}", ":a:foo:b:c.txt" },
  /* REPL keeps its escapes, as BuildKit does.  */
  { "${PATHS/\\/?\\//\\/}", "\\/foo/b/c.txt" },
  { "${PATHS//\\/?\\//\\/}", "\\/foo\\/c.txt" },
  { "${PATHS//\\/?\\//\"/\"}", "/foo/c.txt" },
  { "${PATHS//o/\\/}", "/a/f\\/\\//b/c.txt" },
  { "${KOREAN//?/x}", "xxx" },
  { "${KOREAN/국/-}", "한-어" },
  { "${UNSET//a/b}", "" },
};

static void
test_word_tables(void)
{
  for (size_t i = 0; i < CB_N_ELEMENTS(plain_cases); i++)
    check_word(plain_cases[i].in, plain_cases[i].want, '\\', 0);
  for (size_t i = 0; i < CB_N_ELEMENTS(modifier_cases); i++)
    check_word(modifier_cases[i].in, modifier_cases[i].want, '\\', 0);
}

static void
test_backtick_escape(void)
{
  check_word("a`$PWD", "a$PWD", '`', 0);
  check_word("a\\b", "a\\b", '`', 0);
  check_word("a\\$PWD", "a\\/home", '`', 0);
  check_word("\"a`\"b\"", "a\"b", '`', 0);
  check_word("\"a`tb\"", "a`tb", '`', 0);
  check_word("\"a\\tb\"", "a\\tb", '`', 0);
  check_word("a`", "a", '`', 0);
  check_word("a``", "a`", '`', 0);
  check_word("${UNSET:-`}}", "}", '`', 0);
  check_word("a` b", "a b", '`', 0);
}

static void
test_flags(void)
{
  const unsigned all = SHELL_RAW_QUOTES | SHELL_RAW_ESCAPES | SHELL_SKIP_UNSET;

  check_word("'a'\"b\"c", "'a'\"b\"c", '\\', SHELL_RAW_QUOTES);
  check_word("\"$PWD\"'$PWD'", "\"/home\"'$PWD'", '\\', SHELL_RAW_QUOTES);
  check_words("x \"a b\" 'c d'", "x|\"a b\"|'c d'", SHELL_RAW_QUOTES);
  check_word("a\\ b\\$PWD", "a\\ b\\$PWD", '\\', SHELL_RAW_ESCAPES);
  check_word("hello\\", "hello\\", '\\', SHELL_RAW_ESCAPES);
  check_word("a`$b", "a`$b", '`', SHELL_RAW_ESCAPES);
  /* Inside "...", an escape that escapes nothing is doubled, so that the
     text still reads as escaped text.  */
  check_word("\"a\\\"b\\tc\"", "a\\\"b\\\\tc", '\\', SHELL_RAW_ESCAPES);
  check_words("a\\ b c", "a\\ b|c", SHELL_RAW_ESCAPES);
  check_word("$UNSET $PWD ${UNSET} $1 $", "$UNSET /home ${UNSET} $1 $", '\\',
             SHELL_SKIP_UNSET);
  check_word("${UNSET:-x}${UNSET?no}${UNSET:-$PWD}",
             "${UNSET:-x}${UNSET?no}${UNSET:-$PWD}", '\\', SHELL_SKIP_UNSET);
  check_word("${UNSET#a}${UNSET//a/b}", "${UNSET#a}${UNSET//a/b}", '\\',
             SHELL_SKIP_UNSET);
  check_word("${PWD:-x}${EMPTY:-y}${EMPTY}", "/homey", '\\', SHELL_SKIP_UNSET);
  check_words("cat <<\"EOF\" >$OUT", "cat|<<\"EOF\"|>$OUT", all);
  check_words("cat << 'E O' <<-\\EOF2", "cat|<< 'E O'|<<-\\EOF2", all);
  check_words("3<<EOF ${X:-a b}", "3<<EOF|${X:-a|b}", all);
}

static void
test_heredoc_marker(void)
{
  check_words("cat << EOF > x", "cat|<< EOF|>|x", 0);
  check_words("cat <<\t EOF", "cat|<<\t EOF", 0);
  check_words("a<<  b c", "a<<  b|c", 0);
  check_words("a < < b", "a|<|<|b", 0);
  check_words("<<", "<<", 0);
  check_words("<<  ", "<<  ", 0);
  check_words("\\<< b", "<<|b", 0);
  check_words("\"<< b\"", "<< b", 0);
  check_word("a<<  b", "a<<  b", '\\', 0);
}

static void
test_words(void)
{
  check_words("hello", "hello", 0);
  check_words("  hello   there  ", "hello|there", 0);
  check_words("hello${LEAD}def", "hello|ab|cdef", 0);
  check_words("hello\"${LEAD}\" def", "hello  ab c|def", 0);
  check_words("hello${TRAIL}", "helloab|c", 0);
  check_words("a \"\" b", "a|b", 0);
  check_words("a '' b", "a|b", 0);
  check_words("a\\ b c", "a b|c", 0);
  check_words("$SPACE", "a|b", 0);
  check_words("\"$SPACE\"x", "a  bx", 0);
  check_words("x${UNSET:-\"a b\"}", "xa|b", 0);
  check_words("a\xe3\x80\x80"
              "b",
              "a|b", 0); /* U+3000 is a space */
  check_words("a\xc2\xa0"
              "b",
              "a|b", 0); /* so is U+00A0 */
  check_words("안녕 $KOREAN", "안녕|한국어", 0);
  check_words("a\xff b", "a\xff|b", 0);
}

static void
test_no_words(void)
{
  static const char *const empty[] = { "",   "   ",    "\"\"",
                                       "''", "$UNSET", "${EMPTY} \"\"" };

  for (size_t i = 0; i < CB_N_ELEMENTS(empty); i++) {
    cleanup_error struct cb_error *err = NULL;
    cleanup_strv char **w = shell_expand_words(empty[i], &env, NULL, &err);

    ok(w != NULL && w[0] == NULL && err == NULL, "'%s' gives no words",
       empty[i]);
  }
}

static void
test_errors(void)
{
  check_error("he'llo", CB_ERR_PARSE, "unterminated single-quoted string");
  check_error("'hello", CB_ERR_PARSE, "unterminated single-quoted string");
  check_error("\"hello\\\"", CB_ERR_PARSE, "unterminated double-quoted");
  check_error("안'녕", CB_ERR_PARSE, "unterminated single-quoted string");
  check_error("${", CB_ERR_PARSE, "missing '}'");
  check_error("he${PWD", CB_ERR_PARSE, "missing '}'");
  check_error("${PWD:", CB_ERR_PARSE, "missing '}'");
  check_error("${aaa:-bbb", CB_ERR_PARSE, "missing '}'");
  check_error("${}", CB_ERR_PARSE, "bad substitution");
  check_error("${{aaa}", CB_ERR_PARSE, "bad substitution");
  check_error("${:}", CB_ERR_PARSE, "bad substitution");
  check_error("he${.}", CB_ERR_PARSE, "bad substitution");
  check_error("${PWD:=x}", CB_ERR_PARSE, "unsupported modifier ':='");
  check_error("${PWD=x}", CB_ERR_PARSE, "unsupported modifier '='");
  check_error("${PWD:#x}", CB_ERR_PARSE, "unsupported modifier ':#'");
  check_error("${PWD:%%x}", CB_ERR_PARSE, "unsupported modifier ':%'");
  check_error("${PWD:/x/y}", CB_ERR_PARSE, "unsupported modifier ':/'");
  check_error("${PWD:}", CB_ERR_PARSE, "unsupported modifier ':}'");
  check_error("${PWD.}", CB_ERR_PARSE, "unsupported modifier '.'");
  check_error("${FOO//x}", CB_ERR_PARSE, "missing '/'");
  check_error("${FOO//}", CB_ERR_PARSE, "missing '/'");
  check_error("${FOO/x/y", CB_ERR_PARSE, "missing '}'");
  check_error("${FOO#\\x}", CB_ERR_PARSE, "invalid escape '\\x' in pattern");
  check_error("${FOO#$BS}", CB_ERR_PARSE,
              "invalid escape '\\' in pattern 'a\\'");
  check_error("${UNSET#\\x}", CB_ERR_PARSE, "invalid escape");
  check_error("${FOO/\\a/b}", CB_ERR_PARSE, "invalid escape '\\a'");
  check_error("${UNSET?}", CB_ERR_PARSE, "UNSET: is not allowed to be unset");
  check_error("${UNSET:-${}}", CB_ERR_PARSE, "bad substitution");
  check_error("${UNSET:-'x}", CB_ERR_PARSE, "unterminated single-quoted");
  check_error_exact("${aaa:-bbb ${foo}",
                    "missing '}' in \"${aaa:-bbb ${foo}\"");
  check_error_exact("${:-x}", "bad substitution in \"${:-x}\"");
  check_error_exact("${UNSET?}", "UNSET: is not allowed to be unset");
  check_error_exact("${UNSET:?}", "UNSET: is not allowed to be unset");
  check_error_exact("${EMPTY:?}", "EMPTY: is not allowed to be empty");
  check_error_exact("${UNSET:?custom $PWD}", "UNSET: custom /home");
  check_error_exact("${EMPTY:?set it}", "EMPTY: set it");
}

/* ${...} nesting is bounded, so input cannot exhaust the stack.  */
static void
test_depth(void)
{
  struct cb_buf ok_in = CB_BUF_INIT, deep_in = CB_BUF_INIT;
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *got = NULL;

  for (int i = 0; i < 64; i++)
    cb_buf_adds(&ok_in, "${U:-");
  cb_buf_addc(&ok_in, 'x');
  for (int i = 0; i < 64; i++)
    cb_buf_addc(&ok_in, '}');
  got = shell_expand_word(cb_buf_str(&ok_in), &env, NULL, &err);
  is_str(got, "x", "64 nested ${} expand");
  for (int i = 0; i < 65; i++)
    cb_buf_adds(&deep_in, "${U:-");
  cb_buf_addc(&deep_in, 'x');
  for (int i = 0; i < 65; i++)
    cb_buf_addc(&deep_in, '}');
  free(got);
  got = shell_expand_word(cb_buf_str(&deep_in), &env, NULL, &err);
  ok(got == NULL && err != NULL && err->kind == CB_ERR_UNSAFE,
     "65 nested ${} are refused as unsafe");
  cb_buf_release(&ok_in);
  cb_buf_release(&deep_in);
}

/* A long value with a pattern that cannot match must not take quadratic
   time or more (the matcher is an NFA, not a backtracker).  */
static void
test_long_value(void)
{
  size_t n = 200000;
  char *big = cb_xmalloc(n + 1);
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *got = NULL;
  struct shell_env e = SHELL_ENV_INIT;

  memset(big, 'a', n);
  big[n] = '\0';
  shell_env_set(&e, "BIG", big);
  got = shell_expand_word("${BIG%%*a*a*a*b}${BIG/*b/x}", &e, NULL, &err);
  ok(got != NULL && strlen(got) == 2 * n, "no match in a long value");
  free(got);
  got = shell_expand_word("${BIG##*a}|${BIG%a}", &e, NULL, &err);
  ok(got != NULL && strlen(got) == n, "trims of a long value");
  shell_env_release(&e);
  free(big);
}

int
main(void)
{
  static const char *const pairs[] = {
    "PWD=/home",
    "SHELL=bash",
    "KOREAN=한국어",
    "한국=어",
    "EMPTY=",
    "FOO=xxyy",
    "STAR=*",
    "X1=x",
    "SPACE=a  b",
    "LEAD=  ab c",
    "TRAIL=ab c   ",
    "PATHS=/a/foo/b/c.txt",
    "BRACKETS=[a](b){c}",
    "BRACES={x}",
    "BS=a\\",
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(pairs); i++)
    shell_env_set_pair(&env, pairs[i]);
  test_env();
  test_word_tables();
  test_backtick_escape();
  test_flags();
  test_heredoc_marker();
  test_words();
  test_no_words();
  test_errors();
  test_depth();
  test_long_value();
  shell_env_release(&env);
  return done_testing();
}
