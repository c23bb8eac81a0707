// Shared by the System patches and Cluster pages: the element lookup and the operator token.
'use strict';

const $ = (id) => document.getElementById(id);
const token = () => localStorage.getItem('abu-token') || '';

// The token from the URL fragment abu prints (never sent to the server), kept like the update page keeps it.
const fragment = /token=([^&]+)/.exec(location.hash);
if (fragment) {
  localStorage.setItem('abu-token', decodeURIComponent(fragment[1]));
  history.replaceState(null, '', location.pathname);
}
