// The one pull request comment of a stack's preview (preview.yml, through
// actions/github-script): the body .ci/preview wrote, which starts with a marker naming the
// stack. The comment carrying that marker is edited on later pushes; otherwise one is made.
// Returns what it did ("created" or "updated").
module.exports = async ({ github, context, body }) => {
  const marker = body.split("\n", 1)[0];
  if (!marker.startsWith("<!-- k8s-lab preview: ")) {
    throw new Error(`the preview body does not start with its marker: ${marker}`);
  }
  const { owner, repo } = context.repo;
  const issue_number = context.payload.pull_request.number;
  const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 });
  const previous = comments.find((comment) => (comment.body || "").split("\n", 1)[0] === marker);
  if (previous) {
    await github.rest.issues.updateComment({ owner, repo, comment_id: previous.id, body });
    return "updated";
  }
  await github.rest.issues.createComment({ owner, repo, issue_number, body });
  return "created";
};
