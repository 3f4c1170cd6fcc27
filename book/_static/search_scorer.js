/* How Sphinx's search ranks results for a reader of this book (html_search_scorer in
 * _config.yml). Sphinx's defaults, with two changes:
 * - API entries (results with a description, e.g. "Python 类, in 接口文档") come after the
 *   pages whose title or text has the words: a reader looking up "RMSProp" wants the chapter
 *   before rmsprop_lib's modules. They stay listed.
 * - Among pages that score the same, the chapter comes first: it is the book.
 * Sphinx's own numbers are repeated because this object replaces Sphinx's default Scorer. */
var Scorer = {
  score: (result) => {
    const [docname, , , descr, score] = result;
    return score + (descr ? -15 : 0) + (docname === "book/rmsprop" ? 1 : 0);
  },
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};
