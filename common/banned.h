/* Functions that are easy to misuse.  Include after the system headers;
   a use becomes a compile error (git's trick).  realpath() on an untrusted
   path is always wrong: resolve inside a root with cb_open_in_root().  */
#ifndef CBUILD_COMMON_BANNED_H
#define CBUILD_COMMON_BANNED_H

#define CB_BANNED(func) sorry_##func##_is_banned_in_cbuild

#undef strcpy
#define strcpy(x, y) CB_BANNED(strcpy)
#undef strcat
#define strcat(x, y) CB_BANNED(strcat)
#undef sprintf
#define sprintf(...) CB_BANNED(sprintf)
#undef strtok
#define strtok(x, y) CB_BANNED(strtok)
#undef system
#define system(x) CB_BANNED(system)
#undef popen
#define popen(x, y) CB_BANNED(popen)
#undef mktemp
#define mktemp(x) CB_BANNED(mktemp)
#undef realpath
#define realpath(x, y) CB_BANNED(realpath)

#endif
