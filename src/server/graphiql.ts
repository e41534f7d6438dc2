/** What GraphiQL shows a new user first: a worksheet batch, and the subscription that follows it. */
export const GRAPHIQL_DEFAULT_QUERY = `# Put the cursor in an operation and press Ctrl+Enter (or the run button).
# To watch progress live: run "Follow" in this tab, open a new tab (+), paste "Generate" there and run it;
# "Follow" replays what it missed, so it also works after the fact. Each run of "Generate" with the same
# jobId answers the same job: change the jobId for a new batch.
# With no TOGETHER_API_KEY the server draws labelled offline placeholders.

subscription Follow {
  generationProgress(jobId: "demo-1") {
    sequence
    done
    progress { completed total errors current }
    image { id status error { code message } }
  }
}

mutation Generate {
  generateWorksheetImages(input: {
    jobId: "demo-1"
    images: [
      { id: "0-0", prompt: "A friendly cartoon elephant counting apples", width: 512, height: 512 }
      { id: "0-1", prompt: "Three red apples on a wooden table", width: 512, height: 384 }
    ]
  }) {
    id
    status
    stats { total successful failed retries durationMs }
    results { id status success dimensions { width height } error { code message } image }
  }
}
`;
