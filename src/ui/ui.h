/*
 * ui: the embedded admin SPA, served from the assets kodev compiled in.
 */

#ifndef __H_UI_H
#define __H_UI_H

struct http_request;

/* The handlers conf/routes.conf names. */
int	ui_index(struct http_request *);
int	ui_app_js(struct http_request *);
int	ui_app_css(struct http_request *);

#endif
