#ifndef PORTCULLIS_CCURL_SHIM_H
#define PORTCULLIS_CCURL_SHIM_H
#include <curl/curl.h>
#endif
