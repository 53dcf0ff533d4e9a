/* Helpers shared inside parser/.  */
#ifndef CBUILD_PARSER_INTERNAL_H
#define CBUILD_PARSER_INTERNAL_H

#ifndef CB_IN_PARSER
#error "parser-internal.h is for parser/ only"
#endif

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* A U+0000 decoded from a JSON string is stored as the two bytes C0 80
   (the "modified UTF-8" form) so that arguments stay C strings.  It only
   occurs in nodes whose json flag is set: JSON decoding turns raw invalid
   UTF-8 into U+FFFD, so the pair cannot come from the file itself.  */
#define DF_JSON_NUL "\xC0\x80"

/* JSON (exec) form.  If S (leading whitespace skipped) is one valid JSON
   array whose elements are all strings, set *OUT to a new NULL-terminated
   array of the decoded strings and return 1.  If it is not valid JSON (or
   not an array), return 0.  If it is a valid array with any other element,
   fail with CB_ERR_PARSE.  */
int df_json_string_array(const char *s, char ***out, struct cb_error **err);

/* Go's unicode.IsSpace for the code point starting at S (N bytes); sets
   *WIDTH to its length in bytes.  */
bool df_is_space_at(const char *s, size_t n, size_t *width);

/* S with Unicode whitespace trimmed on both sides, as a new string.  */
char *df_trim_space(const char *s);

/* The keyword, flags and arguments of one instruction text (parse.c). */
struct df_node;
struct dockerfile;
int df_node_from_line(const char *line, char escape, struct df_node *node,
                      struct cb_error **err);
void df_node_release(struct df_node *node);

/* Whether WORD opens a heredoc ("<<EOF", "3<<-'EOF'", "<< EOF", ...).  */
bool df_is_heredoc_word(const char *word);

/* Split REST into words for ARG, ENV and LABEL: quotes and escapes kept,
   whitespace outside quotes separates.  New NULL-terminated array.  */
char **df_split_words(const char *rest, char escape);

#endif
